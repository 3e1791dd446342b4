"""High-value invention patents (高价值发明专利): a pure rule over a patent's facts and a date.

RULES.md §5: a valid (in-force) invention patent is high-value when it meets ANY of five
categories; one that meets several counts once. Thresholds and counting bases come from the
``high-value-*.yaml`` pack; a category whose threshold the pack does not set is reported as not
assessed (``passed: null``) rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.registry.patents.rules import PACK_DIR, PatentFacts, add_years, in_force
from shared.policy import PackSet, PolicyPack, PolicySource


class Category(StrEnum):
    strategic_emerging_industry = "strategic_emerging_industry"
    overseas_family = "overseas_family"
    maintained_over_10_years = "maintained_over_10_years"
    high_pledge_amount = "high_pledge_amount"
    award = "award"


QUALIFYING_AWARDS = ("china_patent_award", "national_science_technology_award")


# --- pack ---------------------------------------------------------------------------------------

class CategoryInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_zh: str
    clause: str
    note: str | None = None
    confidence: str = "S"


class MaintainedRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    years: int = Field(ge=1, le=30)
    counted_from: Literal["filing_date", "grant_date"]
    qualifies_from: Literal["anniversary", "day_after_anniversary"]


class PledgeRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Required key without a default: the pack must say null explicitly when no figure exists.
    threshold_10k_cny: Decimal | None = Field(ge=0)
    amount_basis: Literal["cumulative", "largest_single"]


class GrowthTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(pattern=r"^[0-9]{6}$")
    region_name: str
    annual_average_percent: Decimal = Field(gt=0, le=100)
    source: PolicySource
    period_note: str | None = None


class HighValueData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counted_kinds: list[str] = Field(min_length=1)
    categories: dict[Category, CategoryInfo]
    maintained: MaintainedRule
    pledge: PledgeRule
    growth_targets: list[GrowthTarget] = []

    @model_validator(mode="after")
    def _all_five(self) -> "HighValueData":
        missing = set(Category) - set(self.categories)
        if missing:
            raise ValueError(f"categories missing: {', '.join(sorted(missing))}")
        return self


@cache
def high_value_packs() -> PackSet[HighValueData]:
    return PackSet.load(PACK_DIR, "high-value-*.yaml", HighValueData)


def pack_for(on: date) -> PolicyPack[HighValueData]:
    """The pack in force on ``on``; before the first one, the earliest (a consistent series)."""
    packs = high_value_packs()
    try:
        return packs.in_force(on)
    except LookupError:
        return next(p for p in packs.packs if p.jurisdiction == "national")


# --- decision -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reason:
    category: str
    passed: bool | None  # None: not assessed (the pack sets no threshold, or the fact is unknown)
    detail: str
    source: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "passed": self.passed, "detail": self.detail,
                "source": self.source}


@dataclass(frozen=True)
class HighValue:
    is_high_value: bool
    reasons: tuple[Reason, ...]
    on: date
    pack: str

    @property
    def categories(self) -> list[str]:
        """The categories that make the patent high-value (empty when it is not)."""
        if not self.is_high_value:
            return []
        return [r.category for r in self.reasons if r.category in Category.__members__
                and r.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"is_high_value": self.is_high_value, "categories": self.categories,
                "assessed_on": self.on.isoformat(), "pack": self.pack,
                "reasons": [r.as_dict() for r in self.reasons]}


def _source(pack: PolicyPack[HighValueData], category: Category | None = None,
            clause: str | None = None) -> dict[str, Any]:
    first = pack.sources[0]
    out: dict[str, Any] = {"pack": f"{pack.id}@v{pack.version}", "document": first.document}
    if category is not None:
        info = pack.data.categories[category]
        out |= {"clause": info.clause, "confidence": info.confidence}
        if info.note:
            out["note"] = info.note
    elif clause:
        out["clause"] = clause
    return out


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def assess_high_value(facts: PatentFacts, on: date,
                      pack: PolicyPack[HighValueData]) -> HighValue:
    """Decide whether a patent is a high-value invention patent on ``on``, with each reason."""
    data = pack.data
    reasons: list[Reason] = []
    is_invention = facts.kind in data.counted_kinds
    reasons.append(Reason(
        "invention_patent", is_invention,
        f"kind {facts.kind}" + ("" if is_invention else
                                f"; only {', '.join(data.counted_kinds)} patents are counted"),
        _source(pack, clause="有效发明专利")))
    live, why = in_force(facts, on)
    reasons.append(Reason("in_force", live, why, _source(pack, clause="有效发明专利")))

    # 1. strategic emerging industry: a stored fact, never derived from IPC codes here.
    sei = facts.sei_tagged
    reasons.append(Reason(
        Category.strategic_emerging_industry, sei,
        {True: f"tagged by the IP office as strategic emerging industry"
               f"{': ' + facts.sei_industry if facts.sei_industry else ''}",
         False: "the IP office recorded it as not in a strategic emerging industry",
         None: "not classified: no strategic-emerging-industry tag has been recorded"}[sei],
        _source(pack, Category.strategic_emerging_industry)))

    # 2. a granted family member abroad (WO applications are never grants).
    abroad = [m for m in facts.family if m.office not in ("CN", "WO") and m.granted
              and (m.granted_on is None or m.granted_on <= on)]
    reasons.append(Reason(
        Category.overseas_family, bool(abroad),
        "; ".join(f"{m.office} {m.number} granted"
                  f"{' on ' + m.granted_on.isoformat() if m.granted_on else ''}" for m in abroad)
        or (f"{len(facts.family)} family member(s) recorded, none granted abroad by "
            f"{on.isoformat()}" if facts.family else "no overseas family member recorded"),
        _source(pack, Category.overseas_family)))

    # 3. maintained for more than N years, counted per the pack.
    rule = data.maintained
    start = facts.filing_date if rule.counted_from == "filing_date" else facts.grant_date
    if start is None:
        reasons.append(Reason(Category.maintained_over_10_years, False,
                              f"no {rule.counted_from.replace('_', ' ')} to count from",
                              _source(pack, Category.maintained_over_10_years)))
    else:
        qualifies_on = add_years(start, rule.years)
        if rule.qualifies_from == "day_after_anniversary":
            qualifies_on += timedelta(days=1)
        ended = facts.ended_on if facts.status in ("lapsed", "invalidated", "expired") else None
        ended_early = ended is not None and ended <= qualifies_on
        passed = on >= qualifies_on and not ended_early and facts.grant_date is not None
        detail = (f"counted from the {rule.counted_from.replace('_', ' ')} "
                  f"{start.isoformat()}: more than {rule.years} years from "
                  f"{qualifies_on.isoformat()}")
        if ended_early:
            detail += f"; ended on {ended.isoformat()} before that"
        elif not passed:
            detail += f"; not yet on {on.isoformat()}"
        reasons.append(Reason(Category.maintained_over_10_years, passed, detail,
                              _source(pack, Category.maintained_over_10_years)
                              | {"counted_from": rule.counted_from,
                                 "qualifies_from": rule.qualifies_from}))

    # 4. a relatively high pledge-financing amount: no threshold → not assessed.
    amounts = [p.amount_10k_cny for p in facts.pledges
               if p.starts_on <= on and p.amount_10k_cny is not None]
    achieved = (sum(amounts, Decimal(0)) if data.pledge.amount_basis == "cumulative"
                else max(amounts, default=Decimal(0)))
    figure = (f"pledge financing {_money(achieved)} 万元 ({data.pledge.amount_basis}, "
              f"{len(amounts)} pledge(s) with an amount)")
    threshold = data.pledge.threshold_10k_cny
    if threshold is None:
        reasons.append(Reason(Category.high_pledge_amount, None,
                              f"not assessed: the pack sets no threshold for a relatively high "
                              f"pledge amount (RULES.md §12 Q2); {figure}",
                              _source(pack, Category.high_pledge_amount)))
    else:
        ok = achieved >= threshold
        reasons.append(Reason(Category.high_pledge_amount, ok,
                              f"{figure} {'>=' if ok else '<'} threshold {_money(threshold)} 万元",
                              _source(pack, Category.high_pledge_amount)))

    # 5. China Patent Award or a national science and technology award.
    won = [a for a in facts.awards if a.type in QUALIFYING_AWARDS and a.year <= on.year]
    reasons.append(Reason(
        Category.award, bool(won),
        "; ".join(f"{a.type}{' ' + a.level if a.level else ''} {a.year}" for a in won)
        or "no China Patent Award or national science and technology award recorded",
        _source(pack, Category.award)))

    met = any(r.passed for r in reasons if r.category in Category.__members__)
    return HighValue(is_high_value=is_invention and live and met, reasons=tuple(reasons), on=on,
                     pack=f"{pack.id}@v{pack.version}")


# --- growth of the high-value stock -------------------------------------------------------------

def target_for(region_code: str | None, pack: PolicyPack[HighValueData]) -> GrowthTarget | None:
    """The growth target that applies to exactly this region, if the pack has one."""
    if region_code is None:
        return None
    return next((t for t in pack.data.growth_targets if t.region_code == region_code), None)


def _pct(value: Fraction | float) -> str:
    return str(Decimal(float(value) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def growth(series: list[tuple[int, int]], target: GrowthTarget | None) -> dict[str, Any]:
    """Year-on-year growth and the period's compound average, checked against the target.

    The target (e.g. Daye's 年均增长10%) is an average over the period: the period meets it when
    ``last >= first × (1 + target)^years`` (compared exactly), whatever single years did.
    """
    steps = []
    for (year0, count0), (year1, count1) in zip(series, series[1:]):
        steps.append({"year": year1, "count": count1, "previous": count0,
                      "growth_percent": _pct(Fraction(count1 - count0, count0)) if count0
                      else None})
    out: dict[str, Any] = {"year_on_year": steps, "compound_annual_growth_percent": None,
                           "target": None, "meets_target": None}
    if target is not None:
        out["target"] = {"region_code": target.region_code, "region_name": target.region_name,
                         "annual_average_percent": str(target.annual_average_percent),
                         "method": "compound average over the period (RULES.md §10)",
                         "source": target.source.model_dump(exclude_none=True),
                         "period_note": target.period_note}
    if len(series) < 2:
        out["detail"] = "one year only: no growth to compute"
        return out
    (first_year, first), (last_year, last) = series[0], series[-1]
    years = last_year - first_year
    if first == 0:
        out["detail"] = (f"no high-value patents at the end of {first_year}: the compound growth "
                         "rate is undefined")
        return out
    cagr = (last / first) ** (1 / years) - 1
    out["compound_annual_growth_percent"] = _pct(cagr)
    out["detail"] = (f"{first} at the end of {first_year} → {last} by {last_year}: "
                     f"{_pct(cagr)} % a year on average over {years} year(s)")
    if target is not None:
        rate = 1 + Fraction(target.annual_average_percent) / 100
        out["meets_target"] = Fraction(last) >= Fraction(first) * rate ** years
    return out
