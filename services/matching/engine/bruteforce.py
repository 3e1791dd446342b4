"""Brute-force reference: every doc scored one by one, no inverted index, no bm25s.

The same BM25 formula (engine/scoring.TextStats) with statistics counted here from the docs, the
same candidate rule (top ``candidates`` by BM25 ∪ docs sharing an IPC hint's subclass) and the
same explained blend (scoring.build_match). The benchmark measures the index against it, and a
unit test holds the index to its results.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from services.matching.engine.ipc import levels, normalise_all
from services.matching.engine.model import Doc, Match, Query
from services.matching.engine.packs import MatchingPack, current
from services.matching.engine.scoring import TextStats, build_match


class BruteForce:
    """Docs with their term counts (a forward index only) and the corpus statistics."""

    def __init__(self, docs: Sequence[Doc], *, pack: MatchingPack | None = None) -> None:
        self.pack = pack if pack is not None else current()
        self.docs = sorted(docs, key=lambda d: d.doc_id)
        self.tf = [Counter(d.tokens) for d in self.docs]
        df: Counter[str] = Counter()
        for tf in self.tf:
            df.update(tf.keys())
        n = len(self.docs)
        avgdl = sum(len(d.tokens) for d in self.docs) / n if n else 0.0
        p = self.pack.data.bm25
        self.stats = TextStats(n_docs=n, avgdl=avgdl, k1=p.k1, b=p.b, df=dict(df))

    def text_scores(self, query: Query) -> list[float]:
        return [self.stats.raw(query.tokens, tf, len(d.tokens))
                for d, tf in zip(self.docs, self.tf)]

    def search(self, query: Query, k: int = 10, *, candidates: int | None = None,
               text_only: bool = False) -> list[Match] | list[tuple[str, float]]:
        cand_n = candidates if candidates is not None else self.pack.data.index.candidates
        raw = self.text_scores(query)
        by_text = sorted((i for i, s in enumerate(raw) if s > 0),
                         key=lambda i: (-raw[i], self.docs[i].doc_id))
        if text_only:
            return [(self.docs[i].doc_id, raw[i]) for i in by_text[:k]]
        query_ipc = normalise_all(query.ipc_codes)
        wanted = {key for c in query_ipc for key in levels(c) if key[0] == "subclass"}
        chosen = set(by_text[:cand_n])
        if wanted:
            chosen |= {i for i, d in enumerate(self.docs)
                       if any(key in wanted for c in normalise_all(d.ipc_codes)
                              for key in levels(c))}
        self_score = self.stats.self_score(query.tokens)
        matches = [build_match(query, self.docs[i], raw=raw[i], self_score=self_score,
                               doc_tf=self.tf[i], stats=self.stats, pack=self.pack,
                               query_ipc=query_ipc)
                   for i in chosen]
        matches.sort(key=lambda m: (-m.score, m.doc_id))
        return matches[:k]


def brute_force_search(docs: Sequence[Doc], query: Query, k: int = 10, *,
                       pack: MatchingPack | None = None, candidates: int | None = None
                       ) -> list[Match]:
    """Rank ``docs`` for ``query`` by scoring each one (the reference the index must equal)."""
    return BruteForce(docs, pack=pack).search(query, k, candidates=candidates)
