"""The cultivation pool's rules (专利产业化样板企业培育库, five-ministry plan 2024, 四 样板培育):
entry, quota, graduation (出库), the two-year window and removal (退库).

Plain functions of data: each takes facts and the pack and returns a decision with its basis
(one line per rule: passed or not, the figures, the clause). The service loads the facts, calls
the rule and stores the decision; no database here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.policy import PolicyPack

PLAN = "专利产业化促进中小企业成长计划实施方案（五部门，2024-02-27）"
PLAN_FILE = "national-2024-patent-industrialisation-for-smes.txt"


# --- the pack ----------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntryRules(_Strict):
    clause: str
    qualification_kinds: list[str] = Field(min_length=1)
    size_classes: list[str] = Field(min_length=1)
    min_granted_inventions: int = Field(ge=0)
    verified: bool
    co_signing_department: str | None = None
    barring_flags: list[str] = Field(default_factory=list)


class QuotaRules(_Strict):
    clause: str
    base: int = Field(ge=0)
    enlarged: int = Field(ge=0)
    enlarged_provinces: dict[str, str] = Field(default_factory=dict)
    replenishment_per_graduation: int = Field(ge=0)
    replenishment_clause: str
    verified: bool


class GraduationRules(_Strict):
    clause: str
    min_rate_increase_points: Decimal = Field(ge=0)
    min_new_products: int = Field(ge=1)
    min_sales_growth: Decimal = Field(ge=0)
    min_profit_growth: Decimal = Field(ge=0)
    verified: bool


class RemovalRules(_Strict):
    clause: str
    no_progress_years: int = Field(ge=1)
    progress_kinds: list[str] = Field(min_length=1)
    flag_kinds: list[str] = Field(min_length=1)
    at_risk_days: int = Field(ge=0)
    verified: bool


class PoolPackData(_Strict):
    entry: EntryRules
    quota: QuotaRules
    graduation: GraduationRules
    removal: RemovalRules


PoolPack = PolicyPack[PoolPackData]

PROGRESS_NAMES = {
    "licence_taken": ("取得专利许可", "took a patent licence"),
    "pledge_registered": ("专利权质押融资", "registered a patent pledge for a loan"),
    "product_filed": ("申报专利密集型产品", "filed a patent-intensive product"),
    "product_recognized": ("专利密集型产品获认定", "had a patent-intensive product recognised"),
    "patent_granted": ("专利获授权", "was granted a patent"),
}


def clause_of(clause: str, pack: PoolPack) -> dict[str, Any]:
    return {"document": PLAN, "clause": clause, "file": PLAN_FILE, "pack": pack.ref}


def basis_line(rule: str, passed: bool, figures: dict[str, Any], clause: dict[str, Any],
          meaning: str, *, verified: bool = True) -> dict[str, Any]:
    return {"rule": rule, "passed": passed, "figures": figures, "clause": clause,
            "meaning": meaning, "verified": verified}


@dataclass(frozen=True)
class Decision:
    """Whether every rule passed, and the basis: one line per rule."""

    passed: bool
    rules: list[dict[str, Any]]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rules if not r["passed"]]


# --- entry -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EntryFacts:
    uscc: str
    province_code: str | None
    size_class: str | None
    #: qualifications in force on the decision date: (kind, id, valid_to)
    qualifications: list[tuple[str, str, date]]
    #: granted invention patents in force held by the enterprise
    granted_inventions: list[str]
    #: kinds of the enterprise's active credit flags
    active_flags: list[str] = field(default_factory=list)


def entry_decision(facts: EntryFacts, pack: PoolPack) -> Decision:
    """The entry standard as the pack reads 四（一）: an SME, a high-tech or 专精特新-ladder
    qualification in force, a base of granted inventions, no barring credit flag."""
    rules = pack.data.entry
    clause = clause_of(rules.clause, pack)
    held = [q for q in facts.qualifications if q[0] in rules.qualification_kinds]
    barring = sorted({k for k in facts.active_flags if k in rules.barring_flags})
    lines = [
        basis_line("pool.entry.sme", facts.size_class in rules.size_classes,
              {"size_class": facts.size_class, "allowed": rules.size_classes}, clause,
              "中小企业: the registry's size class is medium, small or micro"
              if facts.size_class else
              "中小企业: the enterprise has no size class yet (register its employees, revenue "
              "or assets)"),
        basis_line("pool.entry.qualification", bool(held),
              {"held": [{"kind": k, "qualification_id": i, "valid_to": v.isoformat()}
                        for k, i, v in held],
               "accepted_kinds": rules.qualification_kinds}, clause,
              "面向高新技术、专精特新等中小企业: a qualification of these kinds in force"),
        basis_line("pool.entry.granted_inventions",
              len(facts.granted_inventions) >= rules.min_granted_inventions,
              {"granted_inventions_in_force": len(facts.granted_inventions),
               "application_nos": facts.granted_inventions[:20],
               "minimum": rules.min_granted_inventions}, clause,
              "具有技术研发能力和专利产业化基础: granted invention patents in force "
              "(a reading: the attachment with the basic standard is not held)",
              verified=rules.verified),
        basis_line("pool.entry.no_barring_credit_flag", not barring,
              {"active_barring_flags": barring},
              clause_of(pack.data.removal.clause, pack),
              "no active credit flag that is a removal ground (退出机制)"),
    ]
    return Decision(all(line["passed"] for line in lines), lines)


# --- quota -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuotaFigures:
    province_code: str
    base_cap: int
    enlarged_reason: str | None
    replenishment: int
    limit: int
    used: int
    graduations: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def as_dict(self) -> dict[str, Any]:
        return {"province_code": self.province_code, "base_cap": self.base_cap,
                "enlarged_reason": self.enlarged_reason, "graduations": self.graduations,
                "replenishment": self.replenishment, "limit": self.limit, "used": self.used,
                "remaining": self.remaining}


def quota_figures(province_code: str, *, admissions: int, graduations: int,
                  pack: PoolPack) -> QuotaFigures:
    """A province's places: the base cap (300, or 500 where the pack names the province), plus
    ``replenishment_per_graduation`` per graduation (滚动培育); every admission ever made uses
    one (removals open no place)."""
    rules = pack.data.quota
    enlarged = rules.enlarged_provinces.get(province_code)
    base = rules.enlarged if enlarged else rules.base
    extra = rules.replenishment_per_graduation * graduations
    return QuotaFigures(province_code, base, enlarged, extra, base + extra, admissions,
                        graduations)


def quota_line(figures: QuotaFigures, override_reason: str | None, pack: PoolPack
               ) -> dict[str, Any]:
    """The quota rule: passed when a place is left; over the cap it passes only with an
    officer's recorded reason (the text says 一般, generally)."""
    rules = pack.data.quota
    within = figures.used < figures.limit
    line = basis_line("pool.quota", within or bool(override_reason),
                 figures.as_dict() | {"overridden": not within and bool(override_reason),
                                      "override_reason": None if within else override_reason},
                 clause_of(rules.clause, pack)
                 | {"replenishment_clause": rules.replenishment_clause},
                 "每个省份推荐入库企业数量一般不超过 300 家（500 家）; 滚动培育: up to "
                 f"{rules.replenishment_per_graduation} more per graduation",
                 verified=rules.verified)
    return line


# --- the two-year window -----------------------------------------------------------------------

def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` on; 29 February ends on 28 February (Civil Code)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def window_end(admitted_on: date, pack: PoolPack) -> date:
    """Last day of the no-progress window: the start day is not counted (Civil Code Art 201),
    so a period of two years from admission ends on the same calendar day two years on."""
    return add_years(admitted_on, pack.data.removal.no_progress_years)


@dataclass(frozen=True)
class Progress:
    """One piece of industrialisation progress the registry knows of."""

    kind: str
    on: date
    reference: str

    def as_dict(self) -> dict[str, Any]:
        zh, en = PROGRESS_NAMES.get(self.kind, (self.kind, self.kind))
        return {"kind": self.kind, "on": self.on.isoformat(), "reference": self.reference,
                "name_zh": zh, "name_en": en}


def in_window(items: list[Progress], admitted_on: date, ends_on: date) -> list[Progress]:
    """Progress inside the window: after the admission day, up to and including its last day."""
    return sorted((p for p in items if admitted_on < p.on <= ends_on),
                  key=lambda p: (p.on, p.kind, p.reference))


def no_progress_decision(admitted_on: date, today: date, items: list[Progress],
                         pack: PoolPack) -> Decision | None:
    """After the window has ended: ``passed`` when progress fell inside it (the enterprise
    stays), else a removal decision. None while the window is still open."""
    rules = pack.data.removal
    ends_on = window_end(admitted_on, pack)
    if today <= ends_on:
        return None
    inside = in_window(items, admitted_on, ends_on)
    counted = {k: sum(1 for p in inside if p.kind == k) for k in rules.progress_kinds}
    line = basis_line("pool.removal.no_progress_two_years", bool(inside), {
        "admitted_on": admitted_on.isoformat(), "window_ends_on": ends_on.isoformat(),
        "checked_on": today.isoformat(), "years": rules.no_progress_years,
        "progress_in_window": counted,
        "evidence": [p.as_dict() for p in inside[:20]],
        "outside_window": [p.as_dict() for p in items if p not in inside][:20]},
        clause_of(rules.clause, pack),
        "入库企业 2 年内未取得专利产业化实质性进展: no licence taken, pledge loan, product filed "
        "or recognised, or patent granted inside the window (start day not counted)",
        verified=rules.verified)
    return Decision(bool(inside), [line])


def at_risk(admitted_on: date, today: date, items: list[Progress], pack: PoolPack) -> bool:
    """Admitted, no progress so far, and the window ends within the pack's warning days."""
    ends_on = window_end(admitted_on, pack)
    if today > ends_on or in_window(items, admitted_on, ends_on):
        return False
    return (ends_on - today) <= timedelta(days=pack.data.removal.at_risk_days)


def flag_removal_line(flag_kind: str, flag_id: str, reference: str, flagged_on: date,
                      pack: PoolPack) -> dict[str, Any]:
    return basis_line("pool.removal.credit_flag", False, {
        "flag_kind": flag_kind, "flag_id": flag_id, "reference": reference,
        "flagged_on": flagged_on.isoformat()}, clause_of(pack.data.removal.clause, pack),
        "出现重大安全事故，以及严重失信、偷漏税、数据造假、非正常申请专利等违法违规行为的，予以退库处理")


# --- graduation --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProductGrowth:
    product_id: str
    name: str
    recognized_on: date | None
    baseline_year: int
    baseline_sales: Decimal
    baseline_profit: Decimal
    figures_year: int
    sales: Decimal
    profit: Decimal
    evidence: str | None

    def growth(self, now: Decimal, before: Decimal) -> Decimal | None:
        if before <= 0:
            return None  # growth from nothing (or a loss) is not a rate
        return (now - before) / before


@dataclass(frozen=True)
class GraduationFacts:
    admitted_on: date
    rate_at_admission: Decimal  # percent
    rate_now: Decimal           # percent
    rate_evidence: str | None
    #: products recognised after admission: (id, name, recognized_on)
    new_products: list[tuple[str, str, date]]
    growth: list[ProductGrowth]


def _pct(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def graduation_decision(facts: GraduationFacts, pack: PoolPack) -> Decision:
    """出库标准: the industrialisation rate clearly up, and either ≥ 1 product newly recognised
    since admission or an earlier-recognised product whose annual sales and profit both grew
    substantially."""
    rules = pack.data.graduation
    clause = clause_of(rules.clause, pack)
    increase = facts.rate_now - facts.rate_at_admission
    rate = basis_line("pool.graduation.rate_increase", increase >= rules.min_rate_increase_points, {
        "rate_at_admission_pct": _pct(facts.rate_at_admission),
        "rate_now_pct": _pct(facts.rate_now), "increase_points": _pct(increase),
        "minimum_points": str(rules.min_rate_increase_points),
        "evidence": facts.rate_evidence}, clause,
        "专利产业化率明显提升 (a reading: percentage points over the rate at admission)",
        verified=rules.verified)
    new = basis_line("pool.graduation.new_products", len(facts.new_products) >= rules.min_new_products,
                {"recognised_since_admission": [
                    {"product_id": i, "name": n, "recognized_on": d.isoformat()}
                    for i, n, d in facts.new_products],
                 "admitted_on": facts.admitted_on.isoformat(),
                 "minimum": rules.min_new_products}, clause, "新增 1 件以上专利密集型产品")
    grown: list[dict[str, Any]] = []
    any_grown = False
    for g in facts.growth:
        sales, profit = g.growth(g.sales, g.baseline_sales), g.growth(g.profit, g.baseline_profit)
        ok = (sales is not None and profit is not None and sales >= rules.min_sales_growth
              and profit >= rules.min_profit_growth and g.figures_year > g.baseline_year)
        any_grown = any_grown or ok
        grown.append({"product_id": g.product_id, "name": g.name,
                      "recognized_on": g.recognized_on.isoformat() if g.recognized_on else None,
                      "baseline_year": g.baseline_year, "figures_year": g.figures_year,
                      "baseline_sales_10k_cny": str(g.baseline_sales),
                      "sales_10k_cny": str(g.sales),
                      "baseline_profit_10k_cny": str(g.baseline_profit),
                      "profit_10k_cny": str(g.profit),
                      "sales_growth": None if sales is None else _pct(sales * 100) + "%",
                      "profit_growth": None if profit is None else _pct(profit * 100) + "%",
                      "passed": ok, "evidence": g.evidence})
    growth = basis_line("pool.graduation.product_growth", any_grown, {
        "products": grown, "min_sales_growth": str(rules.min_sales_growth),
        "min_profit_growth": str(rules.min_profit_growth)}, clause,
        "已获认定的专利密集型产品年销售额及利润均实现较大幅度增长 (a reading of 较大幅度: the "
        "pack's growth rates, both over the figures recorded with the product, for a later year)",
        verified=rules.verified)
    passed = rate["passed"] and (new["passed"] or growth["passed"])
    either = basis_line("pool.graduation.products", new["passed"] or growth["passed"], {
        "new_products": new["passed"], "product_growth": growth["passed"]}, clause,
        "新增 1 件以上专利密集型产品，或者已获认定的专利密集型产品年销售额及利润均实现较大幅度增长")
    return Decision(passed, [rate, either, new, growth])
