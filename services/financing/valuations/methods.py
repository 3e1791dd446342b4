"""The monetary valuation methods as pure, deterministic functions of Decimals (RULES.md §4.2).

Income approach (收益法), two variants:
  relief from royalty   V = Σ_t sales_t × royalty × (1 − tax) / (1 + r)^t
  profit split          V = Σ_t profit_t × split / (1 + r)^t
Cost approach (成本法):   V = replacement cost × (1 − obsolescence)
                         V = replacement cost × remaining life / total life
Market approach (市场法): V = aggregate over comparables of price × Π adjustment factors

t = 1 … n counts whole years from the valuation date, cash flows at each year's end. The
economic life is capped by the patent's remaining legal term: years beyond it are dropped and
the year the term ends in counts for the share of it still inside the term.

Every figure is computed at ``PRECISION`` significant digits and nothing is rounded on the way;
the caller rounds each reported figure once, to 0.01 yuan, half up (:func:`round_cny`). Rounding
each year first can differ by 0.01 (RULES.md §4.2). Nonsense input raises :class:`InputRule`
naming the field (relative to the method's inputs) and the rule broken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

PRECISION = 50
CENT = Decimal("0.01")
#: Largest amount accepted (the columns hold 16 integer digits); not a policy figure.
MAX_AMOUNT = Decimal(10) ** 15
ZERO, ONE = Decimal(0), Decimal(1)

ROUNDING_CONVENTION = (
    f"Computed in decimal arithmetic at {PRECISION} significant digits without intermediate "
    "rounding; each reported amount (the value, the range, each method's value) is rounded once "
    "to 0.01 yuan, half up. Per-year and per-comparable lines are rounded for display only, so "
    "they may not add up to the total by 0.01.")
TIMING_CONVENTION = (
    "Year t runs from the valuation date's (t−1)th to its t-th anniversary; each year's cash "
    "flow is received at the year's end and discounted by (1 + r)^t.")


class InputRule(ValueError):
    """An input a method cannot use; ``field`` is relative to the method's inputs."""

    def __init__(self, field: str, rule: str, message: str, message_zh: str | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = rule
        self.message = message
        self.message_zh = message_zh


def round_cny(value: Decimal) -> Decimal:
    """The one rounding of a reported amount: 0.01 yuan, half up."""
    with localcontext(prec=PRECISION):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def show(value: Decimal, places: int = 2) -> str:
    """A display string (fixed-point, ``places`` decimals, half up) for breakdown lines."""
    with localcontext(prec=PRECISION):
        return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def plain(value: Decimal) -> str:
    """An input echoed back exactly, without exponent notation (1E+3 → 1000)."""
    return format(value, "f")


# --- input checks -------------------------------------------------------------------------------

def check_amount(field: str, value: Decimal, *, positive: bool = False) -> Decimal:
    if not value.is_finite():
        raise InputRule(field, "amount.finite", "must be a finite number", "必须为有限数值")
    if value < 0 or (positive and value == 0):
        word = "positive" if positive else "non-negative"
        raise InputRule(field, f"amount.{word.replace('-', '_')}",
                        f"must be {word} (got {plain(value)})",
                        "金额必须大于0" if positive else "金额不能为负数")
    if value > MAX_AMOUNT:
        raise InputRule(field, "amount.max", f"must not exceed {plain(MAX_AMOUNT)} yuan",
                        "金额超出上限")
    return value


def check_rate(field: str, value: Decimal) -> Decimal:
    if not value.is_finite() or not ZERO <= value <= ONE:
        raise InputRule(field, "rate.range", f"must be within [0, 1] (got {plain(value)}); "
                        "send 0.03 for 3 %", "比率应在0到1之间（3%填0.03）")
    return value


def check_discount(field: str, value: Decimal) -> Decimal:
    if not value.is_finite() or value <= -ONE:
        raise InputRule(field, "discount_rate.above_minus_one",
                        f"must be greater than −1 (got {plain(value)}): (1 + r) must be positive",
                        "折现率必须大于−1")
    return value


def check_series(field: str, values: Sequence[Decimal]) -> list[Decimal]:
    if not values:
        raise InputRule(field, "projection.not_empty", "needs at least one year",
                        "预测期至少需要一年")
    return [check_amount(f"{field}.{i}", v) for i, v in enumerate(values)]


def check_years(field: str, value: Decimal, *, positive: bool = False) -> Decimal:
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise InputRule(field, "years.positive" if positive else "years.non_negative",
                        f"must be {'positive' if positive else 'non-negative'} years "
                        f"(got {plain(value)})", "年限必须为正数" if positive else "年限不能为负数")
    return value


# --- remaining legal term -----------------------------------------------------------------------

def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def years_between(start: date, end: date) -> Decimal:
    """Whole anniversaries from ``start`` to ``end`` plus the elapsed share of the next year
    (by days); 0 when ``end`` is not after ``start``."""
    if end <= start:
        return ZERO
    whole = end.year - start.year
    while whole > 0 and add_years(start, whole) > end:
        whole -= 1
    begin, following = add_years(start, whole), add_years(start, whole + 1)
    with localcontext(prec=PRECISION):
        return Decimal(whole) + Decimal((end - begin).days) / Decimal((following - begin).days)


def year_shares(projected: int, cap: Decimal | None) -> list[Decimal]:
    """The share of each projected year t = 1..n that lies inside the remaining legal term."""
    if cap is None:
        return [ONE] * projected
    shares = []
    for t in range(1, projected + 1):
        if cap >= t:
            shares.append(ONE)
        elif cap > t - 1:
            shares.append(cap - (t - 1))
        else:
            shares.append(ZERO)
    return shares


def truncation_note(projected: int, shares: Sequence[Decimal], cap: Decimal | None,
                    what: str) -> str | None:
    """The assumption stating how a projection was cut to the remaining legal term."""
    if cap is None or all(s == ONE for s in shares):
        return None
    kept = [t for t, s in enumerate(shares, 1) if s == ONE]
    partial = [(t, s) for t, s in enumerate(shares, 1) if ZERO < s < ONE]
    dropped = [t for t, s in enumerate(shares, 1) if s == ZERO]
    parts = [f"the {what} projection of {projected} year(s) exceeds the patent's remaining "
             f"legal term of {show(cap, 4)} years, so the economic life used is "
             f"{show(cap, 4)} years:"]
    if kept:
        parts.append(f"years 1–{kept[-1]} counted in full;")
    for t, s in partial:
        parts.append(f"year {t} counted for {show(s, 4)} of its amount;")
    if dropped:
        parts.append(f"year{'s' if len(dropped) > 1 else ''} "
                     f"{dropped[0]}{'–' + str(dropped[-1]) if len(dropped) > 1 else ''} dropped.")
    return " ".join(parts)


# --- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MethodValue:
    """One method's value in full precision, with its formula, breakdown and notes."""

    method: str
    approach: str
    value: Decimal
    formula: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _discounted(flows: Sequence[Decimal], share_factor: Decimal, rate: Decimal,
                cap: Decimal | None, amount_name: str) -> tuple[Decimal, list[dict[str, Any]],
                                                                 list[Decimal]]:
    shares = year_shares(len(flows), cap)
    total = ZERO
    lines = []
    with localcontext(prec=PRECISION):
        growth = ONE
        base = ONE + rate
        for t, (flow, share) in enumerate(zip(flows, shares, strict=True), 1):
            growth *= base  # (1 + r)^t by repeated multiplication: monotone in r
            attributable = flow * share * share_factor
            present = attributable / growth
            total += present
            lines.append({"year": t, amount_name: plain(flow), "share_of_year": show(share, 6),
                          "attributable_cny": show(attributable),
                          "discount_factor": show(ONE / growth, 10),
                          "present_value_cny": show(present)})
    return total, lines, shares


def relief_from_royalty(sales: Sequence[Decimal], royalty_rate: Decimal, tax_rate: Decimal,
                        discount_rate: Decimal, cap_years: Decimal | None = None) -> MethodValue:
    """Income approach, relief from royalty: Σ sales_t × royalty × (1 − tax) / (1 + r)^t."""
    flows = check_series("sales_cny", sales)
    check_rate("royalty_rate", royalty_rate)
    check_rate("tax_rate", tax_rate)
    check_discount("discount_rate", discount_rate)
    with localcontext(prec=PRECISION):
        factor = royalty_rate * (ONE - tax_rate)
    total, lines, shares = _discounted(flows, factor, discount_rate, cap_years, "sales_cny")
    note = truncation_note(len(flows), shares, cap_years, "sales")
    return MethodValue(
        method="income_relief_from_royalty", approach="income", value=total,
        formula="V = Σ_t sales_t × royalty_rate × (1 − tax_rate) × share_t / (1 + r)^t",
        lines=lines,
        figures={"royalty_rate": plain(royalty_rate), "tax_rate": plain(tax_rate),
                 "discount_rate": plain(discount_rate), "years_projected": len(flows),
                 "economic_life_years": show(sum(shares, ZERO), 6)},
        notes=[note] if note else [])


def profit_split(profits: Sequence[Decimal], split: Decimal, discount_rate: Decimal,
                 cap_years: Decimal | None = None) -> MethodValue:
    """Income approach, profit split: Σ profit_t × split / (1 + r)^t."""
    flows = check_series("profits_cny", profits)
    check_rate("profit_split", split)
    check_discount("discount_rate", discount_rate)
    total, lines, shares = _discounted(flows, split, discount_rate, cap_years, "profit_cny")
    note = truncation_note(len(flows), shares, cap_years, "profit")
    return MethodValue(
        method="income_profit_split", approach="income", value=total,
        formula="V = Σ_t profit_t × profit_split × share_t / (1 + r)^t", lines=lines,
        figures={"profit_split": plain(split), "discount_rate": plain(discount_rate),
                 "years_projected": len(flows),
                 "economic_life_years": show(sum(shares, ZERO), 6)},
        notes=[note] if note else [])


def cost_obsolescence(replacement_cost: Decimal, obsolescence_rate: Decimal) -> MethodValue:
    """Cost approach: replacement cost × (1 − obsolescence)."""
    check_amount("replacement_cost_cny", replacement_cost)
    check_rate("obsolescence_rate", obsolescence_rate)
    with localcontext(prec=PRECISION):
        value = replacement_cost * (ONE - obsolescence_rate)
    return MethodValue(
        method="cost_obsolescence", approach="cost", value=value,
        formula="V = replacement_cost × (1 − obsolescence_rate)",
        figures={"replacement_cost_cny": plain(replacement_cost),
                 "obsolescence_rate": plain(obsolescence_rate)})


def cost_remaining_life(replacement_cost: Decimal, remaining_years: Decimal,
                        total_years: Decimal, cap_years: Decimal | None = None) -> MethodValue:
    """Cost approach: replacement cost × remaining life / total life, the remaining life capped
    by the remaining legal term."""
    check_amount("replacement_cost_cny", replacement_cost)
    check_years("remaining_life_years", remaining_years)
    check_years("total_life_years", total_years, positive=True)
    if remaining_years > total_years:
        raise InputRule("remaining_life_years", "life.remaining_not_above_total",
                        f"remaining life {plain(remaining_years)} exceeds the total life "
                        f"{plain(total_years)}", "剩余寿命不能超过总寿命")
    notes = []
    used = remaining_years
    if cap_years is not None and remaining_years > cap_years:
        used = cap_years
        notes.append(f"the remaining economic life of {plain(remaining_years)} years exceeds the "
                     f"patent's remaining legal term of {show(cap_years, 4)} years; "
                     f"{show(cap_years, 4)} years used")
    with localcontext(prec=PRECISION):
        value = replacement_cost * used / total_years
    return MethodValue(
        method="cost_remaining_life", approach="cost", value=value,
        formula="V = replacement_cost × remaining_life / total_life",
        figures={"replacement_cost_cny": plain(replacement_cost),
                 "remaining_life_years": show(used, 6),
                 "remaining_life_years_given": plain(remaining_years),
                 "total_life_years": plain(total_years)},
        notes=notes)


@dataclass(frozen=True)
class Comparable:
    """A comparable licence price with its adjustment factors (name → factor)."""

    reference: dict[str, Any]
    price: Decimal
    factors: Mapping[str, Decimal]


def market(comparables: Sequence[Comparable], *, aggregate: str = "mean",
           factor_min: Decimal = Decimal("0.1"), factor_max: Decimal = Decimal("10"),
           field_of=lambda i: f"comparables.{i}") -> MethodValue:
    """Market approach: each comparable's price × Π factors, aggregated (mean or median)."""
    if not comparables:
        raise InputRule("comparables", "market.no_comparables",
                        "no comparable licence: record licences (license.granted) in the "
                        "patent's IPC subclass or send comparables", "没有可比许可交易")
    adjusted: list[Decimal] = []
    lines = []
    with localcontext(prec=PRECISION):
        for i, comp in enumerate(comparables):
            check_amount(f"{field_of(i)}.price_cny", comp.price, positive=True)
            product = ONE
            for name, factor in comp.factors.items():
                if not factor.is_finite() or not factor_min <= factor <= factor_max:
                    raise InputRule(f"{field_of(i)}.factors.{name}", "factor.range",
                                    f"must be within [{plain(factor_min)}, {plain(factor_max)}] "
                                    f"(got {plain(factor)})", "调整系数超出允许范围")
                product *= factor
            value = comp.price * product
            adjusted.append(value)
            lines.append({**comp.reference, "price_cny": show(comp.price),
                          "factors": {k: plain(v) for k, v in comp.factors.items()},
                          "factor_product": show(product, 6),
                          "adjusted_price_cny": show(value)})
        if aggregate == "median":
            ordered = sorted(adjusted)
            mid = len(ordered) // 2
            value = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        else:
            value = sum(adjusted, ZERO) / Decimal(len(adjusted))
    return MethodValue(
        method="market_comparables", approach="market", value=value,
        formula=f"V = {aggregate}_i(price_i × technology_i × remaining_term_i × time_i × "
                "region_i × exclusivity_i)",
        lines=lines, figures={"comparables": len(comparables), "aggregate": aggregate})


@dataclass(frozen=True)
class Combined:
    value: Decimal
    low: Decimal
    high: Decimal
    weights: dict[str, Decimal]
    range_rule: str


def combine(values: Mapping[str, Decimal], weights: Mapping[str, Decimal],
            single_spread: Decimal) -> Combined:
    """Weighted mean of the approaches used (weights renormalised over them); the range is the
    spread of the approaches' values, or value × (1 ∓ single_spread) when only one applies."""
    if not values:
        raise InputRule("inputs", "inputs.at_least_one_method",
                        "send at least one of income, cost, market", "请至少提供一种评估方法的参数")
    with localcontext(prec=PRECISION):
        total_weight = sum((weights[k] for k in values), ZERO)
        normalised = {k: weights[k] / total_weight for k in values}
        value = sum((normalised[k] * v for k, v in values.items()), ZERO)
        if len(values) > 1:
            low, high = min(values.values()), max(values.values())
            rule = "low and high are the lowest and highest of the methods' values"
        else:
            low, high = value * (ONE - single_spread), value * (ONE + single_spread)
            rule = (f"one method applied: low = value × (1 − {plain(single_spread)}), "
                    f"high = value × (1 + {plain(single_spread)})")
    return Combined(value, low, high, normalised, rule)
