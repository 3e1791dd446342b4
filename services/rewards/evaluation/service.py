"""The annual performance evaluation (年度绩效评价) of one year and one province or region.

National 2024 plan 六（三）: the IP office evaluates performance by year; Datong 2023 (十六): the
local departments take part. The figures come from the events of all four services (the
evaluation's own projections) and from this service's paid claims; each section says how every
figure was computed, the response names its event types and clauses. The one numeric target
(Daye 2023: high-value invention patents 年均增长10%) is read from the evaluation pack beside
this module, never written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.evaluation import repository
from services.rewards.evaluation.handlers import (LOAN_EVENTS, PATENT_EVENTS, POOL_MOVEMENTS,
                                                  SOURCE_EVENTS)
from services.rewards.evaluation.repository import Period, Scope
from shared.db import today_cn, utcnow
from shared.errors import InvalidInput
from shared.identifiers import PROVINCES
from shared.policy import PolicyPack, PolicySource, load_pack

PACK_FILE = Path(__file__).resolve().parent / "evaluation-2024.yaml"
FIRST_YEAR = 1985  # the Patent Law's first year: nothing to evaluate before it
Assessment = Literal["met", "not_met", "not_assessable"]


class GrowthTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    annual_rate: Decimal = Field(gt=0, lt=10)
    averaging: Literal["compound"]
    jurisdiction: str = Field(description="Where the target was set (GB/T 2260 code)")
    baseline_year: int | None = Field(None, description="Stock at the end of this year is the "
                                                        "base of the average (a reading)")
    baseline_note: str | None = None
    source: PolicySource


class EvaluationData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    high_value_growth: GrowthTarget


@cache
def pack() -> PolicyPack[EvaluationData]:
    """The evaluation pack (validated at first use; the router loads it at import)."""
    return load_pack(PACK_FILE, EvaluationData)


# --- input --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Where:
    scope: Scope
    province_code: str | None
    region_code: str | None

    def describe(self) -> dict[str, Any]:
        province = PROVINCES.get(self.province_code or "")
        label_zh = province or "全国"
        label_en = f"province {self.province_code}" if self.province_code else "nationwide"
        if self.region_code:
            label_zh += f" · 区划 {self.region_code}"
            label_en += f", region {self.region_code}"
        return {"province_code": self.province_code, "province_name_zh": province,
                "region_code": self.region_code, "region_prefix": self.scope.region_prefix,
                "label_zh": label_zh, "label_en": label_en}


def region_prefix(code: str) -> str:
    """The GB/T 2260 prefix a region covers: 140000 → 14, 140200 → 1402, 420281 → 420281 (a
    prefix itself, as packs name jurisdictions — 14, 1402 — is returned as it is)."""
    if len(code) == 6 and code[2:] == "0000":
        return code[:2]
    if len(code) == 6 and code[4:] == "00":
        return code[:4]
    return code


def where(province_code: str | None, region_code: str | None) -> Where:
    """The scope asked for, or 422 naming the query parameter and the rule. ``region_code`` is a
    six-digit GB/T 2260 code or a jurisdiction prefix of 2 or 4 digits (14, 1402)."""
    if province_code is not None:
        if not (len(province_code) == 2 and province_code.isascii() and province_code.isdigit()):
            raise InvalidInput("query.province_code", "province_code.format",
                               f"{province_code!r} is not a province code (2 digits, GB/T 2260)",
                               message_zh="省级行政区划代码应为2位数字")
        if province_code not in PROVINCES:
            raise InvalidInput("query.province_code", "province_code.unknown",
                               f"{province_code!r} is not a province of GB/T 2260",
                               message_zh=f"省级代码 {province_code} 不存在")
    prefix = None
    if region_code is not None:
        if not (len(region_code) in (2, 4, 6) and region_code.isascii()
                and region_code.isdigit()):
            raise InvalidInput("query.region_code", "region_code.format",
                               f"{region_code!r} is not a region code (6 digits, GB/T 2260, or "
                               "a prefix of 2 or 4 digits)",
                               message_zh="行政区划代码应为6位数字（或2、4位前缀）")
        if region_code[:2] not in PROVINCES:
            raise InvalidInput("query.region_code", "region_code.province",
                               f"{region_code[:2]!r} is not a province prefix of GB/T 2260",
                               message_zh=f"省级代码 {region_code[:2]} 不存在")
        if province_code is not None and region_code[:2] != province_code:
            raise InvalidInput("query.region_code", "region_code.outside_province",
                               f"region {region_code} is not in province {province_code}",
                               message_zh=f"区划 {region_code} 不属于省级代码 {province_code}")
        province_code = region_code[:2]
        prefix = region_prefix(region_code)
        if len(prefix) == 2:
            prefix, region_code = None, None  # the province itself
    return Where(Scope(province_code, prefix), province_code, region_code)


def check_year(year: int, today: date) -> None:
    if year < FIRST_YEAR or year > today.year:
        raise InvalidInput("path.year", "year.range",
                           f"year must be between {FIRST_YEAR} and {today.year} (this year, "
                           "evaluated to date)", message_zh=f"年份应在{FIRST_YEAR}年至今年之间")


# --- the arithmetic (plain functions, unit-tested) ----------------------------------------------

RATE = Decimal("0.0001")
PCT = Decimal("0.1")


def growth(previous: int, current: int) -> Decimal | None:
    """Growth of a stock over one year; None when there was nothing to grow from."""
    if previous <= 0:
        return None
    return ((Decimal(current) - previous) / previous).quantize(RATE, ROUND_HALF_UP)


def compound_average(base: int, current: int, years: int) -> Decimal | None:
    """Compound average annual growth from ``base`` to ``current`` over ``years`` years
    (年均增长: (current / base)^(1/years) - 1); None without a base."""
    if base <= 0 or years <= 0:
        return None
    if current <= 0:
        return Decimal(-1).quantize(RATE)
    rate = (Decimal(current) / base) ** (Decimal(1) / years) - 1
    return rate.quantize(RATE, ROUND_HALF_UP)


def assess(rate: Decimal | None, target: Decimal) -> Assessment:
    if rate is None:
        return "not_assessable"
    return "met" if rate >= target else "not_met"


def ratio(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) / whole).quantize(RATE, ROUND_HALF_UP)


def pct(rate: Decimal | None) -> str | None:
    return None if rate is None else f"{(rate * 100).quantize(PCT, ROUND_HALF_UP):f}"


def rate_text(rate: Decimal | None) -> str | None:
    return None if rate is None else f"{rate:f}"


def money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _months(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


def _cite(source: PolicySource) -> dict[str, Any]:
    return {"pack": pack().ref, **source.model_dump(exclude_none=True)}


# --- sections -----------------------------------------------------------------------------------

async def _pool(session: AsyncSession, year: int, period: Period, where_: Where
                ) -> dict[str, Any]:
    totals = {"admitted": 0, "graduated": 0, "removed": 0}
    monthly = {m: {"admissions": 0, "graduations": 0, "removals": 0} for m in _months(year)}
    names = {"admitted": "admissions", "graduated": "graduations", "removed": "removals"}
    reasons: dict[str, int] = {}
    for movement, month, reason, n in await repository.pool_movements(session, period,
                                                                      where_.scope):
        totals[movement] += n
        monthly[f"{year:04d}-{month:02d}"][names[movement]] += n
        if movement == "removed":
            reasons[reason or "unspecified"] = reasons.get(reason or "unspecified", 0) + n
    return {
        "admissions": totals["admitted"], "graduations": totals["graduated"],
        "removals": totals["removed"],
        "removals_by_reason": [{"reason": r, "count": n} for r, n in sorted(reasons.items())],
        "size_at_year_end": await repository.pool_size(session, period.last, where_.scope),
        "size_at_previous_year_end": await repository.pool_size(
            session, date(year - 1, 12, 31), where_.scope),
        "by_month": [{"month": m} | v for m, v in monthly.items()],
        "method": {
            "admissions": "pool.admitted events whose admitted_on falls in the year",
            "graduations": "pool.graduated events whose graduated_on falls in the year",
            "removals": "pool.removed events whose removed_on falls in the year, by reason",
            "size_at_year_end": "enterprises whose newest pool event (registry revision) dated "
                                "on or before the last day is an admission",
            "scope": "the province the pool event names; a region through the enterprise "
                     "projection",
        },
        "sources": list(POOL_MOVEMENTS),
    }


async def _high_value(session: AsyncSession, year: int, period: Period, where_: Where,
                      complete: bool) -> dict[str, Any]:
    target = pack().data.high_value_growth
    current, unknown = await repository.high_value_stock(session, period.last, where_.scope)
    previous, _ = await repository.high_value_stock(session, date(year - 1, 12, 31),
                                                    where_.scope)
    rate = growth(previous, current)
    verdict = assess(rate, target.annual_rate)
    average = None
    if target.baseline_year is not None and year - target.baseline_year >= 2:
        years = year - target.baseline_year
        base, _ = await repository.high_value_stock(session, date(target.baseline_year, 12, 31),
                                                    where_.scope)
        avg = compound_average(base, current, years)
        average = {"baseline_year": target.baseline_year, "stock_at_baseline": base,
                   "years": years, "average_growth": rate_text(avg),
                   "average_growth_pct": pct(avg),
                   "assessment": assess(avg, target.annual_rate),
                   "note": target.baseline_note}
    scoped = where_.scope.region_prefix or where_.scope.province_code or ""
    applies = target.jurisdiction == "national" or scoped.startswith(
        region_prefix(target.jurisdiction.ljust(6, "0")))
    return {
        "in_force_at_year_end": current, "in_force_at_previous_year_end": previous,
        "growth": rate_text(rate), "growth_pct": pct(rate),
        "target": {"annual_growth": rate_text(target.annual_rate),
                   "annual_growth_pct": pct(target.annual_rate), "averaging": target.averaging,
                   "set_for_jurisdiction": target.jurisdiction, "applies_to_scope": applies,
                   "clause": _cite(target.source)},
        "assessment": verdict, "met": None if rate is None else verdict == "met",
        "provisional": not complete,
        "average_since_baseline": average,
        "owner_region_unknown": unknown,
        "method": {
            "in_force_at_year_end": "invention patents (incl. PCT national phase) whose newest "
                                    "registry state (by revision) effective on or before the last "
                                    "day (a status change from its changed_on, a registration or "
                                    "update from the day recorded) is in force and high-value "
                                    "(RULES §5, as the registry decided it)",
            "in_force_at_previous_year_end": "the same count on 31 December of the year before",
            "growth": "(year end - previous year end) ÷ previous year end; for one year the "
                      "compound average is this growth, compared with the target",
            "average_since_baseline": "(year end ÷ baseline)^(1/years) - 1 from the pack's "
                                      "baseline year, when more than one year has passed",
            "scope": "the first owner with a USCC: region as the event gave it, else the "
                     "enterprise projection's; owner_region_unknown counts patents in the "
                     "national stock whose owner has no known region",
            "target": "set by Daye for Daye (applies_to_scope false elsewhere: a benchmark)",
        },
        "sources": list(PATENT_EVENTS),
    }


async def _financing(session: AsyncSession, year: int, period: Period, where_: Where
                     ) -> dict[str, Any]:
    monthly = {m: {"loans": 0, "amount_cny": Decimal(0)} for m in _months(year)}
    for month, n, amount in await repository.loans_disbursed(session, period, where_.scope):
        monthly[f"{year:04d}-{month:02d}"] = {"loans": n, "amount_cny": amount}
    pledges, secured = await repository.pledges_registered(session, period, where_.scope)
    return {
        "loans_disbursed": sum(v["loans"] for v in monthly.values()),
        "amount_disbursed_cny": money(sum((v["amount_cny"] for v in monthly.values()),
                                          Decimal(0))),
        "pledges_registered": pledges, "secured_amount_cny": money(secured),
        "by_month": [{"month": m, "loans": v["loans"], "amount_cny": money(v["amount_cny"])}
                     for m, v in monthly.items()],
        "method": {
            "loans_disbursed": "loan.disbursed events whose disbursed_on falls in the year "
                               "(one per loan), placed by the borrower's region at application "
                               "(else the enterprise projection's)",
            "amount_disbursed_cny": "sum of disbursed_amount_cny of those loans, in yuan",
            "pledges_registered": "pledge.registered events whose registered_on falls in the "
                                  "year, placed by the pledgor's region (enterprise projection)",
            "secured_amount_cny": "sum of the secured amounts of those pledges",
        },
        "sources": ["loan.disbursed", "pledge.registered"],
    }


async def _licences(session: AsyncSession, year: int, period: Period, where_: Where
                    ) -> dict[str, Any]:
    monthly = dict.fromkeys(_months(year), 0)
    for month, n in await repository.open_licences(session, period, where_.scope):
        monthly[f"{year:04d}-{month:02d}"] = n
    return {
        "granted": sum(monthly.values()),
        "by_month": [{"month": m, "licences": n} for m, n in monthly.items()],
        "method": {
            "granted": "license.granted events of license_type open whose starts_on falls in "
                       "the year, placed by the licensee's region (as the event gave it, else "
                       "the enterprise projection's)",
        },
        "sources": ["license.granted"],
    }


def _rule_names(pack_ref: str, rule_code: str) -> dict[str, Any]:
    from services.rewards.policies import packs

    try:
        found = packs.find(pack_ref, rule_code)
    except Exception:  # a pack directory that does not load is reported at start, not here
        found = None
    if found is None:
        return {"pack_title": None, "rule_name_zh": None, "rule_name_en": None, "clause": None}
    reward_pack, rule = found
    return {"pack_title": reward_pack.title, "rule_name_zh": rule.name_zh,
            "rule_name_en": rule.name_en, "clause": rule.source.clause}


async def _rewards(session: AsyncSession, year: int, period: Period, where_: Where
                   ) -> dict[str, Any]:
    rows = []
    for r in await repository.rewards_paid(session, period, where_.scope):
        paid, recovered = repository.yuan(r.paid_fen), repository.yuan(r.recovered_fen)
        rows.append({"pack_id": r.pack_id, "pack_ref": r.pack_ref,
                     "jurisdiction": r.jurisdiction, "rule_code": r.rule_code,
                     **_rule_names(r.pack_ref, r.rule_code),
                     "claims_paid": int(r.claims), "paid_cny": paid,
                     "in_recovery": int(r.in_recovery), "recovered_claims": int(r.recovered),
                     "recovered_cny": recovered, "recovery_waived": int(r.waived),
                     "net_cny": paid - recovered})
    by_pack: dict[str, dict[str, Any]] = {}
    for row in rows:
        slot = by_pack.setdefault(row["pack_id"], {
            "pack_id": row["pack_id"], "jurisdiction": row["jurisdiction"],
            "pack_title": row["pack_title"], "claims_paid": 0, "paid_cny": Decimal(0),
            "recovered_cny": Decimal(0)})
        slot["claims_paid"] += row["claims_paid"]
        slot["paid_cny"] += row["paid_cny"]
        slot["recovered_cny"] += row["recovered_cny"]
        slot["pack_title"] = slot["pack_title"] or row["pack_title"]
    monthly = {m: {"claims_paid": 0, "paid_cny": Decimal(0)} for m in _months(year)}
    for month, n, amount in await repository.rewards_by_month(session, period, where_.scope):
        monthly[f"{year:04d}-{month:02d}"] = {"claims_paid": n, "paid_cny": amount}
    paid = sum((r["paid_cny"] for r in rows), Decimal(0))
    recovered = sum((r["recovered_cny"] for r in rows), Decimal(0))

    def money_fields(d: dict[str, Any]) -> dict[str, Any]:
        return {k: money(v) if isinstance(v, Decimal) else v for k, v in d.items()}

    return {
        "claims_paid": sum(r["claims_paid"] for r in rows), "paid_cny": money(paid),
        "in_recovery": sum(r["in_recovery"] for r in rows),
        "recovered_claims": sum(r["recovered_claims"] for r in rows),
        "recovered_cny": money(recovered),
        "recovery_waived": sum(r["recovery_waived"] for r in rows),
        "net_cny": money(paid - recovered),
        "by_policy": [money_fields(r) for r in rows],
        "by_pack": [money_fields(p) for p in by_pack.values()],
        "by_month": [{"month": m, "claims_paid": v["claims_paid"],
                      "paid_cny": money(v["paid_cny"])} for m, v in monthly.items()],
        "method": {
            "claims_paid": "this service's reward claims paid by a fund with paid_on in the "
                           "year (statuses paid, recovery, recovered, recovery_waived), by pack "
                           "and rule, placed by the claimant's region on the claim",
            "paid_cny": "sum of paid_cny of those claims",
            "in_recovery": "of those, claims reopened for recovery and not closed yet "
                           "(claim.clawed_back)",
            "recovered_cny": "of those, the amounts returned to the fund (status recovered)",
            "net_cny": "paid - recovered",
        },
        "sources": ["reward_claims (claim.paid, claim.clawed_back, claim.recovered)"],
    }


async def _green_channel(session: AsyncSession, period: Period, where_: Where, as_of: date
                         ) -> dict[str, Any]:
    counts = await repository.green_channel(session, period, where_.scope, as_of)
    timed = counts["within"] + counts["late"]
    rate = ratio(counts["within"], timed)
    return {
        "decided": counts["decided"], "approved": counts["approved"],
        "rejected": counts["decided"] - counts["approved"],
        "within_deadline": counts["within"], "late": counts["late"],
        "without_deadline": counts["no_deadline"],
        "timeliness": rate_text(rate), "timeliness_pct": pct(rate),
        "undecided_past_deadline": counts["overdue"],
        "method": {
            "decided": "green-channel (绿色通道: whitelisted at application) loans with a "
                       "loan.approved or loan.rejected dated (decided_on) in the year",
            "within_deadline": "of those, decided on or before the decision_deadline",
            "late": "of those, decided after the decision_deadline",
            "timeliness": "within deadline ÷ decisions that had a deadline",
            "undecided_past_deadline": "green-channel applications whose deadline passed in "
                                       "the year (to the as-of day) with no decision by then",
        },
        "sources": list(LOAN_EVENTS),
    }


# --- the evaluation -----------------------------------------------------------------------------

async def build_evaluation(session: AsyncSession, year: int, province_code: str | None = None,
                           region_code: str | None = None, *, today: date | None = None
                           ) -> dict[str, Any]:
    """The evaluation of ``year`` for a province (and region; neither: nationwide) as a
    JSON-ready dict; 422 for a bad year or code. The current year is evaluated to date
    (``period.complete`` false)."""
    today = today or today_cn()
    check_year(year, today)
    where_ = where(province_code, region_code)
    year_end = date(year, 12, 31)
    complete = today > year_end
    as_of = year_end if complete else today
    period = Period(date(year, 1, 1), as_of)
    evaluation = pack()
    caveats = [
        "Figures are as the events recorded them: a patent registered in the registry counts "
        "from its registration day, so a region's first year on the platform overstates "
        "growth.",
        "Regions come from the events or the enterprise projection; a fact whose enterprise "
        "is not (yet) projected has no region and is left out of a province's figures.",
    ]
    if not complete:
        caveats.insert(0, f"{year} is not over: figures run to {as_of.isoformat()} and the "
                          "target assessment is provisional.")
    return {
        "year": year,
        "scope": where_.describe(),
        "period": {"from": period.first.isoformat(), "to": year_end.isoformat(),
                   "as_of": as_of.isoformat(), "complete": complete},
        "generated_at": utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "pool": await _pool(session, year, period, where_),
        "high_value_patents": await _high_value(session, year, period, where_, complete),
        "pledge_financing": await _financing(session, year, period, where_),
        "open_licences": await _licences(session, year, period, where_),
        "rewards": await _rewards(session, year, period, where_),
        "green_channel": await _green_channel(session, period, where_, as_of),
        "sources": {"events": list(SOURCE_EVENTS),
                    "tables": ["reward_claims", "enterprise_projection"]},
        "policy_basis": [_cite(s) for s in evaluation.sources]
                        + [_cite(evaluation.data.high_value_growth.source)],
        "caveats": caveats,
    }
