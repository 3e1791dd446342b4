"""Value-indicator scoring (GB/T 42748-2023: legal, technical and economic value) as a pure rule.

The tree, its weights per scenario and the legal indicators' scores are pack data (names are
placeholders, RULES.md §4.1 [X]/[U]). Legal indicators are computed here from financing's patent
fact; technical and economic ones are scored 0-100 by the caller. An indicator the caller did
not score is left out and the weights of its siblings are renormalised; the result says so.
The score is reported beside the monetary value and does not change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from services.financing.valuations.methods import PRECISION, InputRule, plain, show
from services.financing.valuations.packs import Band, Indicators, LegalScoring, Purpose

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LegalFacts:
    """What the legal indicators read from the patent fact, as of the valuation date."""

    remaining_years: Decimal | None
    statutory_years: Decimal | None
    annual_fee_status: str | None
    family_granted_abroad: int
    encumbrances: Mapping[str, Any]
    suspended: bool
    high_value_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeafScore:
    score: Decimal | None
    figures: dict[str, Any] = field(default_factory=dict)


def _band(bands: list[Band], value: Decimal) -> Decimal:
    for band in bands:
        if value >= band.at_least:
            return band.score
    return bands[-1].score


def licensing_state(encumbrances: Mapping[str, Any]) -> str:
    """pledged > exclusive_or_sole > ordinary_or_open > unlicensed (the most restrictive wins)."""
    licences = encumbrances.get("licences") or {}
    if encumbrances.get("pledged") or (encumbrances.get("active_pledges") or 0) > 0:
        return "pledged"
    if (licences.get("exclusive") or 0) + (licences.get("sole") or 0) > 0:
        return "exclusive_or_sole"
    if (licences.get("ordinary") or 0) + (licences.get("open") or 0) > 0:
        return "ordinary_or_open"
    return "unlicensed"


def legal_scores(scoring: LegalScoring, facts: LegalFacts) -> dict[str, LeafScore]:
    """Each legal indicator's score from the patent fact, with the figures it read."""
    out: dict[str, LeafScore] = {}
    if facts.remaining_years is None or not facts.statutory_years:
        out["remaining_term"] = LeafScore(None, {"reason": "the patent's term end is unknown"})
    else:
        with localcontext(prec=PRECISION):
            share = facts.remaining_years / facts.statutory_years
        out["remaining_term"] = LeafScore(_band(scoring.remaining_term_bands, share), {
            "remaining_years": show(facts.remaining_years, 4),
            "statutory_years": show(facts.statutory_years, 4),
            "share_of_term": show(share, 4)})
    fee = facts.annual_fee_status or "unknown"
    out["legal_status"] = LeafScore(
        scoring.annual_fee_status.get(fee, scoring.annual_fee_status["unknown"]),
        {"in_force": True, "annual_fee_status": fee})
    abroad = "granted_abroad" if facts.family_granted_abroad > 0 else "none"
    out["overseas_family"] = LeafScore(scoring.overseas_family[abroad],
                                       {"family_granted_abroad": facts.family_granted_abroad})
    state = licensing_state(facts.encumbrances)
    out["licensing_status"] = LeafScore(scoring.licensing_status[state], {
        "state": state, "licences": dict(facts.encumbrances.get("licences") or {}),
        "pledged": bool(facts.encumbrances.get("pledged"))})
    out["stability"] = LeafScore(
        scoring.stability["suspended" if facts.suspended else "normal"],
        {"suspended": facts.suspended})
    count = len(facts.high_value_categories)
    out["high_value_category"] = LeafScore(_band(scoring.high_value_category_bands,
                                                 Decimal(count)),
                                           {"categories": list(facts.high_value_categories)})
    return out


def check_inputs(indicators: Indicators, given: Mapping[str, Mapping[str, Decimal]]
                 ) -> dict[str, dict[str, Decimal]]:
    """Validate caller scores: only request-scored groups, known keys, 0 ≤ score ≤ 100."""
    groups = {g.key: g for g in indicators.tree}
    out: dict[str, dict[str, Decimal]] = {}
    for group_key, scores in given.items():
        group = groups.get(group_key)
        if group is None:
            raise InputRule(group_key, "indicator.unknown_group",
                            f"unknown indicator group {group_key!r}; the caller scores "
                            "technical and economic", "未知的一级指标")
        if group.source != "request":
            raise InputRule(group_key, "indicator.computed_from_patent",
                            f"{group_key} indicators are computed from the patent's legal facts, "
                            "not sent", "法律价值指标由专利法律状态计算，不接受传入")
        known = {leaf.key for leaf in group.children}
        out[group_key] = {}
        for key, score in scores.items():
            if key not in known:
                raise InputRule(f"{group_key}.{key}", "indicator.unknown",
                                f"unknown {group_key} indicator {key!r}; known: "
                                f"{', '.join(sorted(known))}", "未知的指标")
            if not score.is_finite() or not 0 <= score <= HUNDRED:
                raise InputRule(f"{group_key}.{key}", "indicator.score_range",
                                f"a score is within [0, 100] (got {plain(score)})",
                                "指标得分应在0到100之间")
            out[group_key][key] = score
    return out


def score(indicators: Indicators, purpose: Purpose, legal: Mapping[str, LeafScore],
          given: Mapping[str, Mapping[str, Decimal]], pack_ref: str) -> dict[str, Any]:
    """The indicator tree scored for ``purpose``: every leaf's score, weight and source, each
    group's weighted score, the total (0-100, rounded once to 0.01) and its grade."""
    scenario = indicators.scenarios[purpose]
    groups_out = []
    group_scores: dict[str, Decimal] = {}
    missing: list[str] = []
    with localcontext(prec=PRECISION):
        for group in indicators.tree:
            leaves = []
            weighted, weight_sum = Decimal(0), Decimal(0)
            for leaf in group.children:
                weight = scenario.leaves.get(leaf.key, leaf.weight)
                if group.source == "patent_fact":
                    found = legal.get(leaf.key, LeafScore(None))
                    value, figures = found.score, found.figures
                    source = "patent_fact" if value is not None else "not_available"
                else:
                    value = given.get(group.key, {}).get(leaf.key)
                    figures = {}
                    source = "request" if value is not None else "not_provided"
                if value is None:
                    missing.append(f"{group.key}.{leaf.key}")
                else:
                    weighted += weight * value
                    weight_sum += weight
                leaves.append({"key": leaf.key, "name_zh": leaf.name_zh, "name_en": leaf.name_en,
                               "name_confidence": group.children_name_confidence,
                               "weight": plain(weight), "score": None if value is None
                               else show(value), "source": source, "figures": figures,
                               "_weight": weight, "_value": value})
            group_score = weighted / weight_sum if weight_sum else None
            if group_score is not None:
                group_scores[group.key] = group_score
            for line in leaves:
                w, v = line.pop("_weight"), line.pop("_value")
                line["weight_in_group"] = (show(w / weight_sum, 4)
                                           if v is not None and weight_sum else None)
            groups_out.append({"key": group.key, "name_zh": group.name_zh,
                               "name_en": group.name_en, "name_confidence": group.name_confidence,
                               "weight": plain(scenario.first_level[group.key]),
                               "score": None if group_score is None else show(group_score),
                               "source": group.source, "indicators": leaves})
        total_weight = sum((scenario.first_level[k] for k in group_scores), Decimal(0))
        total = (sum((scenario.first_level[k] * s for k, s in group_scores.items()), Decimal(0))
                 / total_weight)
        for g in groups_out:
            g["weight_in_total"] = (show(scenario.first_level[g["key"]] / total_weight, 4)
                                    if g["key"] in group_scores else None)
    grade = next(g for g in indicators.grades if total >= g.at_least)
    return {
        "scenario": purpose.value, "total_score": show(total), "grade": grade.grade,
        "grade_meaning": grade.meaning, "groups": groups_out, "not_scored": missing,
        "rule": ("group score = Σ leaf weight × score / Σ weights of the scored leaves; total = "
                 "Σ group weight × group score / Σ weights of the scored groups (0-100)"),
        "affects_value": False, "source": indicators.source.cite(pack_ref),
    }
