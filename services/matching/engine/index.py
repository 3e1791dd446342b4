"""The in-memory search index of open-licence patents: bm25s + a small exact delta + a mask.

Design
------
* **Base**: a bm25s (Lucene) build over every doc at the last build, with feature arrays for the
  other components (IPC level → rows, fee, region, industry, patentee type). Immutable except its
  ``alive`` mask.
* **Remove** flips the doc's bit in ``alive``: the doc is never returned again, at once. The
  base's corpus statistics (N, df, avgdl) keep counting it until the next build; a few stale
  documents shift IDF by a hair, not the ranking.
* **Upsert** masks the old version (if any) and puts the doc in the **delta**: a dict-of-postings
  scored with exactly the same BM25 formula and the base's frozen statistics (IDF, avgdl; a word
  the base has never seen counts as df = 1, i.e. rare). So a new patent is searchable as soon as
  ``upsert`` returns, at a cost proportional to its own length.
* **Rebuild** when the docs changed since the last build reach ``index.rebuild_after_pending``
  or ``index.rebuild_after_fraction`` of the docs, whichever is fewer (pack): a background thread builds a new base from a snapshot while searches keep using the
  old base + delta; changes made during the build are replayed onto the new base at the swap
  (masked there and kept in a new delta). Indexes smaller than ``index.sync_rebuild_below_docs``
  rebuild at once on every change (cheap, and statistics of a tiny corpus should not freeze).
  ``rebuild()`` forces a full synchronous build.
* **Thread safety**: one lock guards changes, the delta and the swap; a search copies the mask and
  reads the delta under the lock, then scores the base outside it.

Search = top ``candidates`` docs by BM25 (base: vectorised over bm25s' CSC matrix with
``np.bincount``, then ``argpartition``; delta: every doc with a matched word) ∪ docs sharing a
subclass with an IPC hint (found even with no word in common), blended with vectorised
equivalents of engine/scoring.py; the leading k (+ a margin) are then scored and explained by
scoring.build_match, which is the definition of the ranking. Ties go to the smaller doc_id.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import bm25s
import numpy as np

from services.matching.engine.ipc import IPC_LEVELS, levels, normalise_all
from services.matching.engine.model import Doc, Match, Query, document_tokens, query_tokens
from services.matching.engine.packs import MatchingPack, current
from services.matching.engine.scoring import TextStats, build_match, industry_key

__all__ = ["Doc", "Match", "Query", "SearchIndex", "document_tokens", "query_tokens"]

_MARGIN = 8  # extra leading docs re-scored exactly, against float32 vs float64 differences
_EMPTY = np.zeros(0, dtype=np.int64)


def _rows(groups: dict) -> dict:
    return {k: np.unique(np.asarray(v, dtype=np.int64)) for k, v in groups.items()}


class _Base:
    """One bm25s build over a fixed, doc_id-sorted list of docs, with feature arrays."""

    def __init__(self, docs: list[Doc], pack: MatchingPack) -> None:
        p = pack.data
        self.docs = docs
        self.n = n = len(docs)
        self.row = {d.doc_id: i for i, d in enumerate(docs)}
        self.alive = np.ones(n, dtype=bool)
        lengths = np.fromiter((len(d.tokens) for d in docs), dtype=np.int64, count=n)
        avgdl = float(lengths.mean()) if n else 0.0
        self.vocab: dict[str, int] = {}
        self.bm25: bm25s.BM25 | None = None
        if any(d.tokens for d in docs):  # bm25s cannot index a corpus without a single word
            self.bm25 = bm = bm25s.BM25(k1=p.bm25.k1, b=p.bm25.b, method=p.bm25.method)
            bm.index([list(d.tokens) for d in docs], show_progress=False)
            self.data = bm.scores["data"]
            self.indices = bm.scores["indices"]
            self.indptr = bm.scores["indptr"]
            df = np.diff(self.indptr)
            # bm25s appends an empty token "" past the matrix's columns: leave it out
            self.vocab = {t: i for t, i in bm.vocab_dict.items() if i < df.size and df[i] > 0}
            df_map = {t: int(df[i]) for t, i in self.vocab.items()}
        else:
            df_map = {}
        self.stats = TextStats(n_docs=n, avgdl=avgdl, k1=p.bm25.k1, b=p.bm25.b, df=df_map)

        self.ipc = [normalise_all(d.ipc_codes) for d in docs]
        self.has_ipc = np.fromiter((bool(c) for c in self.ipc), dtype=bool, count=n)
        ipc_rows: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, codes in enumerate(self.ipc):
            for code in codes:
                for key in levels(code):
                    ipc_rows[key].append(i)
        self.ipc_rows = _rows(ipc_rows)

        ind_rows: dict[str, list[int]] = defaultdict(list)
        self.has_industry = np.zeros(n, dtype=bool)
        for i, d in enumerate(docs):
            for key in {k for k in (industry_key(c) for c in d.industry_codes) if k}:
                self.has_industry[i] = True
                ind_rows["s:" + key[0]].append(i)
                if key[1]:
                    ind_rows["d:" + key[1]].append(i)
        self.industry_rows = _rows(ind_rows)

        def code_int(code: str | None, width: int) -> int:
            head = (code or "")[:width]
            return int(head) if len(head) == width and head.isdigit() else -1

        self.prefecture = np.array([code_int(d.region_code, 4) for d in docs], dtype=np.int64)
        self.province = np.array([code_int(d.region_code, 2) for d in docs], dtype=np.int64)
        self.fee = np.array([float(d.lump_sum_cny) if d.lump_sum_cny is not None else np.nan
                             for d in docs], dtype=np.float64)
        self.royalty = np.array([d.royalty_rate is not None and d.royalty_rate > 0 for d in docs],
                                dtype=bool)
        self.free = np.array([(d.lump_sum_cny is not None and d.lump_sum_cny == 0)
                              or d.payment_method == "free" for d in docs], dtype=bool)
        self.stock = np.array([p.stock.patentee_types.get(d.patentee_type, 0.0) for d in docs],
                              dtype=np.float64)
        order = np.argsort(np.array([d.doc_id for d in docs], dtype=object), kind="stable")
        self.id_rank = np.empty(n, dtype=np.int64)
        self.id_rank[order] = np.arange(n)

    def token_ids(self, tokens: Iterable[str]) -> np.ndarray:
        ids = [self.vocab[t] for t in tokens if t in self.vocab]
        return np.asarray(ids, dtype=np.int64)

    def raw_scores(self, token_ids: np.ndarray) -> np.ndarray:
        """BM25 of every row for the query's token occurrences (bm25s' precomputed weights)."""
        if self.n == 0 or token_ids.size == 0:
            return np.zeros(self.n, dtype=np.float64)
        starts, ends = self.indptr[token_ids], self.indptr[token_ids + 1]
        rows = np.concatenate([self.indices[s:e] for s, e in zip(starts, ends)])
        weights = np.concatenate([self.data[s:e] for s, e in zip(starts, ends)])
        return np.bincount(rows, weights=weights, minlength=self.n)

    def subclass_rows(self, query_ipc: tuple[str, ...]) -> np.ndarray:
        found = [self.ipc_rows.get(key, _EMPTY) for code in query_ipc
                 for key in levels(code) if key[0] == "subclass"]
        return np.unique(np.concatenate(found)) if found else _EMPTY

    def blend(self, rows: np.ndarray, raw: np.ndarray, self_score: float, query: Query,
              query_ipc: tuple[str, ...], pack: MatchingPack) -> np.ndarray:
        """Vectorised scoring.build_match(...).score of ``rows`` (to choose, not to report)."""
        p = pack.data
        w = p.weights
        # text
        if self_score > 0:
            r = np.minimum(1.0, raw[rows] / self_score)
            h = p.text.saturation
            text = np.where(r > 0, r * (1 + h) / np.maximum(r + h, 1e-300), 0.0)
        else:
            text = np.zeros(rows.size)
        # ipc: coarse to fine, finer levels overwrite (their figures are never lower)
        lv = p.ipc_levels
        if query_ipc:
            ipc = np.where(self.has_ipc[rows], lv.none, lv.unknown)
            full = np.full(self.n, np.nan)
            for level in reversed(IPC_LEVELS):
                for code in query_ipc:
                    for key in levels(code):
                        if key[0] == level and key in self.ipc_rows:
                            full[self.ipc_rows[key]] = lv.level(level)
            hit = full[rows]
            ipc = np.where(np.isnan(hit), ipc, hit)
        else:
            ipc = np.full(rows.size, lv.unknown)
        # budget
        bp = p.budget
        if query.budget_max_cny is None:
            budget = np.full(rows.size, bp.no_budget)
        else:
            bmax = float(query.budget_max_cny)
            fee = self.fee[rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                over = bp.within * bmax / fee if bmax > 0 else np.zeros(rows.size)
            paid = np.where(fee <= bmax, bp.within, over)
            rest = np.where(self.royalty[rows], bp.royalty_only,
                            np.where(self.free[rows], bp.free, bp.unknown_terms))
            budget = np.where(np.nan_to_num(fee, nan=0.0) > 0, paid, rest)
        # region
        rp = p.region
        q = query.region_code
        if not q:
            region = np.full(rows.size, rp.unknown)
        else:
            pref, prov = self.prefecture[rows], self.province[rows]
            q_pref = int(q[:4]) if len(q) >= 4 and q[:4].isdigit() else -2
            q_prov = int(q[:2]) if q[:2].isdigit() else -2
            region = np.where(prov < 0, rp.unknown,
                              np.where((pref == q_pref) & (pref >= 0), rp.same_fine,
                                       np.where(prov == q_prov, rp.same_coarse, rp.other)))
        # industry
        ip = p.industry
        qk = industry_key(query.industry_code)
        if qk is None:
            industry = np.full(rows.size, ip.unknown)
        else:
            full = np.where(self.has_industry, ip.other, ip.unknown)
            full[self.industry_rows.get("s:" + qk[0], _EMPTY)] = ip.same_coarse
            if qk[1]:
                full[self.industry_rows.get("d:" + qk[1], _EMPTY)] = ip.same_fine
            industry = full[rows]
        return (w.text * text + w.ipc * ipc + w.budget * budget + w.region * region
                + w.industry * industry + w.stock * self.stock[rows])


class _Delta:
    """Docs added or replaced since the last build, scored with the base's frozen statistics."""

    def __init__(self, stats: TextStats) -> None:
        self.stats = stats
        self.docs: dict[str, Doc] = {}
        self.ipc: dict[str, tuple[str, ...]] = {}
        self.postings: dict[str, dict[str, float]] = {}

    def add(self, doc: Doc) -> None:
        self.remove(doc.doc_id)
        self.docs[doc.doc_id] = doc
        self.ipc[doc.doc_id] = normalise_all(doc.ipc_codes)
        norm = self.stats.norm(len(doc.tokens))
        for token, tf in Counter(doc.tokens).items():
            self.postings.setdefault(token, {})[doc.doc_id] = (
                self.stats.idf(token) * tf / (tf + norm))

    def remove(self, doc_id: str) -> None:
        doc = self.docs.pop(doc_id, None)
        if doc is None:
            return
        self.ipc.pop(doc_id, None)
        for token in set(doc.tokens):
            posting = self.postings.get(token)
            if posting is not None:
                posting.pop(doc_id, None)
                if not posting:
                    del self.postings[token]

    def raw_scores(self, tokens: Iterable[str]) -> dict[str, float]:
        acc: dict[str, float] = defaultdict(float)
        for t in tokens:
            for doc_id, w in self.postings.get(t, {}).items():
                acc[doc_id] += w
        return acc

    def subclass_ids(self, query_ipc: tuple[str, ...]) -> set[str]:
        wanted = {key for code in query_ipc for key in levels(code) if key[0] == "subclass"}
        if not wanted:
            return set()
        return {i for i, codes in self.ipc.items()
                if any(key in wanted for c in codes for key in levels(c))}


@dataclass(frozen=True)
class _Snapshot:
    base: _Base
    alive: np.ndarray
    delta_raw: dict[str, float]
    delta_docs: dict[str, Doc]
    delta_ipc: set[str]
    self_score: float


class SearchIndex:
    """Open-licence patents, searchable by demand; see the module docstring for the design."""

    def __init__(self, docs: Iterable[Doc] = (), *, pack: MatchingPack | None = None) -> None:
        self.pack = pack if pack is not None else current()
        self._lock = threading.RLock()
        self._build_lock = threading.Lock()
        self._docs: dict[str, Doc] = {}
        for d in docs:
            self._docs[d.doc_id] = d
        self._changed: set[str] = set()
        self._during_build: set[str] | None = None
        self._builds = 0
        self._last_build_seconds = 0.0
        self._thread: threading.Thread | None = None
        self._base = _Base([], self.pack)
        self._delta = _Delta(self._base.stats)
        self.rebuild()

    # -- maintenance ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        """A full build from the current docs (synchronous); searches go on meanwhile."""
        with self._build_lock:
            with self._lock:
                snapshot = sorted(self._docs.values(), key=lambda d: d.doc_id)
                self._during_build = set()
            started = time.perf_counter()
            base = _Base(snapshot, self.pack)
            elapsed = time.perf_counter() - started
            with self._lock:
                during, self._during_build = self._during_build, None
                delta = _Delta(base.stats)
                for doc_id in sorted(during):
                    row = base.row.get(doc_id)
                    if row is not None:
                        base.alive[row] = False
                    doc = self._docs.get(doc_id)
                    if doc is not None:
                        delta.add(doc)
                self._base, self._delta, self._changed = base, delta, set(during)
                self._builds += 1
                self._last_build_seconds = elapsed

    def wait_for_rebuild(self, timeout: float | None = None) -> None:
        """Block until a background rebuild (if any) has swapped in (tests, benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _note_change(self, doc_id: str) -> bool:
        """Record a change (under the lock); True when the caller must rebuild synchronously
        (after releasing the lock: the build lock is always taken first)."""
        self._changed.add(doc_id)
        if self._during_build is not None:
            self._during_build.add(doc_id)
        settings = self.pack.data.index
        if len(self._docs) < settings.sync_rebuild_below_docs:
            return True
        limit = min(settings.rebuild_after_pending,
                    max(1, math.ceil(settings.rebuild_after_fraction * len(self._docs))))
        if (len(self._changed) >= limit
                and (self._thread is None or not self._thread.is_alive())):
            self._thread = threading.Thread(target=self.rebuild, name="matching-index-rebuild",
                                            daemon=True)
            self._thread.start()
        return False

    def upsert(self, doc: Doc) -> None:
        """Add or replace a doc; searchable when this returns."""
        with self._lock:
            base = self._base
            row = base.row.get(doc.doc_id)
            self._docs[doc.doc_id] = doc
            if row is not None and base.alive[row] and base.docs[row] == doc:
                return  # the same version (an event redelivered): nothing to do
            if row is not None:
                base.alive[row] = False
            self._delta.add(doc)
            sync = self._note_change(doc.doc_id)
        if sync:
            self.rebuild()

    def remove(self, doc_id: str) -> None:
        """Drop a doc; never returned again once this returns (no-op if absent)."""
        with self._lock:
            if self._docs.pop(doc_id, None) is None:
                return
            row = self._base.row.get(doc_id)
            if row is not None:
                self._base.alive[row] = False
            self._delta.remove(doc_id)
            sync = self._note_change(doc_id)
        if sync:
            self.rebuild()

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def get(self, doc_id: str) -> Doc | None:
        return self._docs.get(doc_id)

    def stats(self) -> dict:
        with self._lock:
            return {"docs": len(self._docs), "pending": len(self._changed),
                    "base_docs": int(self._base.alive.sum()), "delta_docs": len(self._delta.docs),
                    "last_build_seconds": round(self._last_build_seconds, 3),
                    "builds": self._builds,
                    "rebuilding": self._thread is not None and self._thread.is_alive()}

    # -- search --------------------------------------------------------------------------------

    def _snapshot(self, query: Query, query_ipc: tuple[str, ...]) -> _Snapshot:
        with self._lock:
            base, delta = self._base, self._delta
            return _Snapshot(
                base=base, alive=base.alive.copy(), delta_raw=dict(delta.raw_scores(query.tokens)),
                delta_docs=dict(delta.docs), delta_ipc=delta.subclass_ids(query_ipc),
                self_score=base.stats.self_score(query.tokens))

    def _match(self, snap: _Snapshot, query: Query, doc: Doc, raw: float,
               doc_ipc: tuple[str, ...] | None = None) -> Match:
        return build_match(query, doc, raw=raw, self_score=snap.self_score,
                           doc_tf=Counter(doc.tokens), stats=snap.base.stats, pack=self.pack,
                           query_ipc=normalise_all(query.ipc_codes), doc_ipc=doc_ipc)

    def search(self, query: Query, k: int = 10, *, candidates: int | None = None,
               exclude: Collection[str] = ()) -> list[Match]:
        """The k best open-licence patents for ``query``, explained, best first."""
        if k <= 0:
            return []
        cand_n = candidates if candidates is not None else self.pack.data.index.candidates
        query_ipc = normalise_all(query.ipc_codes)
        snap = self._snapshot(query, query_ipc)
        base = snap.base
        stats = base.stats

        # base candidates
        raw = base.raw_scores(base.token_ids(query.tokens))
        usable = snap.alive
        if exclude:
            usable = usable.copy()
            for doc_id in exclude:
                row = base.row.get(doc_id)
                if row is not None:
                    usable[row] = False
        masked = np.where(usable, raw, 0.0)
        hits = np.flatnonzero(masked > 0)
        if hits.size > cand_n:
            hits = hits[np.argpartition(-masked[hits], cand_n - 1)[:cand_n]]
        ipc_rows = base.subclass_rows(query_ipc)
        if ipc_rows.size:
            ipc_rows = ipc_rows[usable[ipc_rows]]
        rows = np.union1d(hits, ipc_rows).astype(np.int64)

        leading: list[Match] = []
        if rows.size:
            blended = base.blend(rows, raw, snap.self_score, query, query_ipc, self.pack)
            order = np.lexsort((base.id_rank[rows], -blended))[: k + _MARGIN]
            for i in order:
                row = int(rows[i])
                doc = base.docs[row]
                leading.append(self._match(snap, query, doc, stats.raw(
                    query.tokens, Counter(doc.tokens), len(doc.tokens)), base.ipc[row]))

        # delta candidates: every matched doc plus IPC subclass hits (the delta is small)
        excluded = set(exclude)
        for doc_id in (set(snap.delta_raw) | snap.delta_ipc) - excluded:
            leading.append(self._match(snap, query, snap.delta_docs[doc_id],
                                       snap.delta_raw.get(doc_id, 0.0)))
        leading.sort(key=lambda m: (-m.score, m.doc_id))
        return leading[:k]

    def explain(self, query: Query, doc_id: str) -> Match | None:
        """The same scoring as ``search`` for one doc (reverse matching); None if absent."""
        with self._lock:
            doc = self._docs.get(doc_id)
            if doc is None:
                return None
            base, delta = self._base, self._delta
            self_score = base.stats.self_score(query.tokens)
        tf = Counter(doc.tokens)
        return build_match(query, doc, raw=base.stats.raw(query.tokens, tf, len(doc.tokens)),
                           self_score=self_score, doc_tf=tf, stats=base.stats, pack=self.pack)

    def search_text(self, query: Query, k: int = 10) -> list[tuple[str, float]]:
        """BM25 alone (no blend, no IPC candidates): the text-only baseline of the evaluation."""
        snap = self._snapshot(query, ())
        base = snap.base
        raw = np.where(snap.alive, base.raw_scores(base.token_ids(query.tokens)), 0.0)
        hits = np.flatnonzero(raw > 0)
        scored = [(base.docs[int(r)].doc_id, float(raw[r])) for r in hits]
        scored += [(i, s) for i, s in snap.delta_raw.items() if s > 0]
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:k]
