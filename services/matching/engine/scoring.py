"""The score components for one (query, doc) pair, each with its figure and a readable reason.

These scalar functions are the definition of the ranking: the index uses vectorised equivalents
only to *choose* candidates quickly, then builds every returned ``Match`` here, and the
brute-force reference ranks with these alone (a unit test holds the two to the same results).

Text relevance. BM25 (Lucene IDF ``ln(1 + (N - df + 0.5)/(df + 0.5))``, Robertson saturation
``tf / (tf + k1·(1 - b + b·dl/avgdl))``, summed over the query's token occurrences) is unbounded
and grows with the query's length and the rarity of its words, so raw scores of two demands
cannot be compared and a push threshold on them would mean nothing. We divide by the query's
*self-score*: the BM25 score the query's own tokens would get as a document of the same corpus
(same IDF and avgdl), counting only tokens the corpus contains (a word no patent uses cannot be
matched by any, so it should not lower every score). ``r = min(1, raw / self)`` is then "how much
of what the query asks for, weighted by rarity, this patent covers", comparable across queries;
``r(1+h)/(r+h)`` (h from the pack) lifts partial coverage, the normal case for a one-paragraph
demand against a patent, while keeping differences between good matches visible (h = 1: 30 %
coverage scores 0.46, half 0.67, full coverage 1). A saturation ``s/(s+k0)`` on the raw score was rejected: k0 would have to
depend on the query's length to mean the same thing for a short and a long demand.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.matching.engine.ipc import LEVEL_ZH, best_level, normalise_all
from services.matching.engine.model import Doc, Match, Query
from services.matching.engine.packs import COMPONENTS, MatchingPack

# GB/T 4754-2017 divisions (大类) by section (门类), for codes given without the letter.
_SECTIONS = [("A", 1, 5), ("B", 6, 12), ("C", 13, 43), ("D", 44, 46), ("E", 47, 50),
             ("F", 51, 52), ("G", 53, 60), ("H", 61, 62), ("I", 63, 65), ("J", 66, 69),
             ("K", 70, 70), ("L", 71, 72), ("M", 73, 75), ("N", 76, 79), ("O", 80, 82),
             ("P", 83, 83), ("Q", 84, 85), ("R", 86, 90), ("S", 91, 96), ("T", 97, 97)]


def lucene_idf(df: int, n_docs: int) -> float:
    n = max(n_docs, df)
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class TextStats:
    """Corpus statistics frozen at an index build: what every BM25 figure is computed with."""

    n_docs: int
    avgdl: float
    k1: float
    b: float
    df: Mapping[str, int]  # token -> number of docs containing it (at the build)

    def idf(self, token: str) -> float:
        """A token unseen at the build (only in docs added since) counts as df = 1: rare."""
        return lucene_idf(self.df.get(token) or 1, self.n_docs)

    def norm(self, length: int) -> float:
        avgdl = self.avgdl if self.avgdl > 0 else 1.0
        return self.k1 * (1.0 - self.b + self.b * length / avgdl)

    def raw(self, query_tokens: Sequence[str], doc_tf: Mapping[str, int], doc_len: int) -> float:
        norm = self.norm(doc_len)
        total = 0.0
        for t in query_tokens:
            tf = doc_tf.get(t)
            if tf:
                total += self.idf(t) * tf / (tf + norm)
        return total

    def self_score(self, query_tokens: Sequence[str]) -> float:
        """The query scored against itself: what a patent saying everything the demand says
        would get. Every query word counts, also one no patent in the index uses (at the rare
        weight of ``idf``): a bakery's "面包 烘焙 自动化" matched only on 自动 covers a small
        part of what it asked for, not all of its words the index happens to know."""
        qtf = Counter(query_tokens)
        return self.raw(list(query_tokens), qtf, len(query_tokens))


def _money(v: Decimal | float) -> str:
    return f"¥{Decimal(v):,.2f}"


def text_component(raw: float, self_score: float, matched: Sequence[str],
                   pack: MatchingPack) -> tuple[float, str]:
    if self_score <= 0.0 or raw <= 0.0:
        return 0.0, "专利中没有需求里的词 / no query term occurs in this patent"
    h = pack.data.text.saturation
    r = min(1.0, raw / self_score)
    score = r * (1.0 + h) / (r + h) if r > 0 else 0.0
    shown = "、".join(matched[: pack.data.text.matched_terms_shown]) or "无 none"
    return score, (f"BM25 {raw:.2f}，覆盖需求自身得分 {self_score:.2f} 的 {r:.0%} / covers "
                   f"{r:.0%} of the query's self-score; 命中词 matched: {shown}")


def ipc_component(query_codes: Sequence[str], doc_codes: Sequence[str],
                  pack: MatchingPack) -> tuple[float, str]:
    levels = pack.data.ipc_levels
    if not query_codes:
        return levels.unknown, f"需求未给出IPC / no IPC hint: neutral {levels.unknown}"
    if not doc_codes:
        return levels.unknown, f"专利无IPC分类号 / patent has no IPC code: neutral {levels.unknown}"
    level, q, d = best_level(query_codes, doc_codes)
    if level == "none":
        return levels.none, (f"{LEVEL_ZH['none']} / no shared IPC section: "
                             f"{', '.join(query_codes)} vs {', '.join(doc_codes)}")
    return levels.level(level), f"{LEVEL_ZH[level]} / same {level.replace('_', ' ')}: {q} ↔ {d}"


def budget_component(query: Query, doc: Doc, pack: MatchingPack) -> tuple[float, str]:
    b = pack.data.budget
    bmax = query.budget_max_cny
    if bmax is None:
        return b.no_budget, f"需求未给出预算上限 / no budget stated: neutral {b.no_budget}"
    fee = doc.lump_sum_cny
    if fee is not None and fee > 0:
        if fee <= bmax:
            return b.within, f"一次性/入门费 {_money(fee)} ≤ 预算上限 {_money(bmax)} / within budget"
        score = b.within * float(bmax) / float(fee) if bmax > 0 else 0.0
        return score, (f"一次性/入门费 {_money(fee)} > 预算上限 {_money(bmax)}：按 预算/费用 "
                       f"递减 / over budget, decays as budget/fee")
    if doc.royalty_rate is not None and doc.royalty_rate > 0:
        return b.royalty_only, (f"无入门费，按销售额提成 {float(doc.royalty_rate):.2%} / no upfront "
                                f"fee, royalty only")
    if (fee is not None and fee == 0) or doc.payment_method == "free":
        return b.free, "免费许可 / free licence: fits any budget"
    return b.unknown_terms, f"许可费条件未知 / fee terms unknown: neutral {b.unknown_terms}"


def region_component(query: Query, doc: Doc, pack: MatchingPack) -> tuple[float, str]:
    a = pack.data.region
    q, d = query.region_code, doc.region_code
    if not q or not d:
        return a.unknown, f"地区未知 / region unknown: neutral {a.unknown}"
    if len(q) >= 4 and len(d) >= 4 and q[:4] == d[:4]:
        return a.same_fine, f"同一地市 / same prefecture {d[:4]}"
    if q[:2] == d[:2]:
        return a.same_coarse, f"同一省份 / same province {d[:2]}"
    return a.other, f"不同省份 / different province: {q[:2]} vs {d[:2]}"


def industry_key(code: str | None) -> tuple[str, str | None] | None:
    """GB/T 4754 code → (section letter, division like "C38" or None); None if unreadable."""
    if not code:
        return None
    c = code.strip().upper()
    letter = c[0] if c[:1].isalpha() else None
    digits = c[1:] if letter else c
    if digits and (not digits.isdigit() or len(digits) < 2):
        return None
    if digits:
        number = int(digits[:2])
        derived = next((s for s, lo, hi in _SECTIONS if lo <= number <= hi), None)
        if derived is None or (letter and letter != derived):
            return None
        return derived, f"{derived}{digits[:2]}"
    if letter and any(letter == s for s, _, _ in _SECTIONS):
        return letter, None
    return None


def industry_component(query: Query, doc: Doc, pack: MatchingPack) -> tuple[float, str]:
    a = pack.data.industry
    q = industry_key(query.industry_code)
    docs = [k for k in (industry_key(c) for c in doc.industry_codes) if k]
    if q is None or not docs:
        return a.unknown, f"行业未知 / industry unknown: neutral {a.unknown}"
    if q[1] and any(d[1] == q[1] for d in docs):
        return a.same_fine, f"同一行业大类 / same GB/T 4754 division {q[1]}"
    if any(d[0] == q[0] for d in docs):
        return a.same_coarse, f"同一行业门类 / same GB/T 4754 section {q[0]}"
    return a.other, (f"行业不同 / different industry: {query.industry_code} vs "
                     f"{', '.join(doc.industry_codes)}")


def stock_component(doc: Doc, pack: MatchingPack) -> tuple[float, str]:
    boost = pack.data.stock.patentee_types.get(doc.patentee_type, 0.0)
    if boost > 0:
        return boost, (f"高校/科研院所存量专利（存量专利盘活）/ stock patent of a "
                       f"{doc.patentee_type.replace('_', ' ')}")
    return 0.0, f"专利权人类型 {doc.patentee_type}：无存量专利加成 / no stock-patent boost"


def matched_terms(query_tokens: Sequence[str], doc_tf: Mapping[str, int],
                  stats: TextStats) -> list[str]:
    """The query's tokens present in the doc, rarest first (what made the text score)."""
    seen = {t for t in query_tokens if t in doc_tf}
    return sorted(seen, key=lambda t: (-stats.idf(t), t))


def build_match(query: Query, doc: Doc, *, raw: float, self_score: float,
                doc_tf: Mapping[str, int], stats: TextStats, pack: MatchingPack,
                query_ipc: Sequence[str] | None = None,
                doc_ipc: Sequence[str] | None = None) -> Match:
    """The full explained score of one doc for one query."""
    q_ipc = normalise_all(query.ipc_codes) if query_ipc is None else query_ipc
    d_ipc = normalise_all(doc.ipc_codes) if doc_ipc is None else doc_ipc
    parts = {
        "text": text_component(raw, self_score, matched_terms(query.tokens, doc_tf, stats), pack),
        "ipc": ipc_component(q_ipc, d_ipc, pack),
        "budget": budget_component(query, doc, pack),
        "region": region_component(query, doc, pack),
        "industry": industry_component(query, doc, pack),
        "stock": stock_component(doc, pack),
    }
    components: dict[str, dict] = {}
    for name in COMPONENTS:
        score, detail = parts[name]
        weight = pack.data.weight(name)
        components[name] = {"score": score, "weight": weight, "contribution": score * weight,
                            "detail": detail}
    total = math.fsum(c["contribution"] for c in components.values())
    return Match(doc_id=doc.doc_id, application_no=doc.application_no, score=total,
                 components=components)
