"""Request and response bodies for valuations (never the ORM classes).

Money is CNY yuan (元): sent as a decimal string or number, returned as a string with exactly two
decimals ("640339.65"). Rates and shares are fractions as decimal strings ("0.03" = 3 %). Shapes
are checked here; the rules on values (non-negative sales, rates within [0, 1], a discount rate
above −1, scores within 0-100 …) are applied by the service, whose problem+json names the field
and the rule.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.financing.valuations.packs import Purpose

MoneyOut = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["640339.65"],
                                description="CNY yuan (元), two decimals")]
Amount = Annotated[Decimal, Field(examples=["12000000"], description="CNY yuan (元)")]
Rate = Annotated[Decimal, Field(examples=["0.03"], description="A fraction within [0, 1]")]
MAX_YEARS = 60  # a shape bound: years beyond the legal term are truncated, never refused


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RoyaltyReliefInputs(_In):
    """Income approach, relief from royalty (销售收入分成): the royalty the owner saves."""

    variant: Literal["relief_from_royalty"]
    sales_cny: list[Amount] = Field(
        max_length=MAX_YEARS, examples=[["10000000", "12000000", "14000000"]],
        description="Sales of the patented product, year 1 first (year t ends on the t-th "
                    "anniversary of the valuation date). Years beyond the patent's remaining "
                    "legal term are truncated, and the assumptions say so")
    royalty_rate: Rate = Field(description="销售收入分成率: share of sales attributable to the patent")
    tax_rate: Rate = Field(examples=["0.25"], description="Income tax rate on the royalty")
    discount_rate: Decimal = Field(examples=["0.12"], description="折现率 r (> −1)")


class ProfitSplitInputs(_In):
    """Income approach, profit split (利润分成)."""

    variant: Literal["profit_split"]
    profits_cny: list[Amount] = Field(
        max_length=MAX_YEARS, examples=[["3000000", "3500000", "4000000"]],
        description="Profit of the patented product, year 1 first (a loss year is sent as 0); "
                    "years beyond the remaining legal term are truncated")
    profit_split: Rate = Field(examples=["0.25"], description="利润分成率: share of profit "
                                                               "attributable to the patent")
    discount_rate: Decimal = Field(examples=["0.12"], description="折现率 r (> −1)")


class CostObsolescenceInputs(_In):
    """Cost approach: replacement cost less obsolescence (贬值)."""

    variant: Literal["obsolescence"]
    replacement_cost_cny: Amount = Field(examples=["1800000"])
    obsolescence_rate: Rate = Field(examples=["0.35"], description="贬值率 within [0, 1]")


class CostRemainingLifeInputs(_In):
    """Cost approach: replacement cost × remaining life / total life."""

    variant: Literal["remaining_life"]
    replacement_cost_cny: Amount = Field(examples=["1800000"])
    remaining_life_years: Decimal | None = Field(
        None, examples=["8"], description="Remaining economic life; default the remaining legal "
                                          "term, and never more than it (capped, and said so)")
    total_life_years: Decimal | None = Field(
        None, examples=["20"], description="Total life; default the statutory term")


class Factors(_In):
    """Market-approach adjustment factors (1 = no adjustment); unset ones take the pack's."""

    technology: Decimal | None = Field(None, examples=["1.1"])
    remaining_term: Decimal | None = None
    time: Decimal | None = None
    region: Decimal | None = None
    exclusivity: Decimal | None = None


class ComparableIn(_In):
    """A comparable transaction the caller knows of (e.g. from CNIPA's recorded contracts)."""

    reference: str = Field(min_length=1, max_length=200, examples=["许可合同备案号 2025990000123"])
    price_cny: Amount = Field(description="Licence price (lump sum), CNY yuan; > 0")
    license_type: Literal["open", "exclusive", "sole", "ordinary"] | None = None
    granted_on: date | None = None
    factors: Factors | None = None


class MarketInputs(_In):
    """Market approach from comparable licence prices."""

    comparables: list[ComparableIn] = Field(default_factory=list, max_length=50)
    use_recorded: bool = Field(True, description="Also use licences recorded from matching's "
                                                 "license.granted events in the patent's IPC "
                                                 "subclass (same kind first)")
    factors: Factors | None = Field(None, description="Factors applied to every recorded "
                                                      "comparable")


class IndicatorInputs(_In):
    """Scores 0-100 of the technical and economic indicators (keys from the pack's tree); legal
    indicators are computed from the patent. Unscored indicators are left out, and said so."""

    technical: dict[str, Decimal] = Field(default_factory=dict, examples=[{"advancement": "80"}])
    economic: dict[str, Decimal] = Field(default_factory=dict,
                                         examples=[{"market_prospect": "70"}])


class ValuationCreate(_In):
    """Value a granted, in-force invention or utility model (GB/T 42748-2023 approach)."""

    application_no: str = Field(min_length=1, max_length=40, examples=["202110123456.0"],
                                description="申请号 in any common form")
    purpose: Purpose = Field(description="pledge_financing 质押融资 | licensing 许可 | transfer 转让 "
                                         "| other: picks the method and indicator weights")
    valuation_date: date | None = Field(None, description="评估基准日; default today (China), "
                                                          "never in the future")
    income: (Annotated[RoyaltyReliefInputs | ProfitSplitInputs, Field(discriminator="variant")]
             | None) = None
    cost: (Annotated[CostObsolescenceInputs | CostRemainingLifeInputs,
                     Field(discriminator="variant")] | None) = None
    market: MarketInputs | None = None
    indicators: IndicatorInputs | None = None


class BankAssessmentCreate(_In):
    """A bank's own internal valuation of the patent (银行内部评估试点), recorded beside ours."""

    value_cny: Amount = Field(examples=["5800000.00"], description="The bank's value, CNY yuan")
    method: Literal["income", "market", "cost", "combined", "other"]
    valued_on: date = Field(description="Date of the bank's valuation; not in the future")
    notes: str | None = Field(None, max_length=2000)


class BankAssessmentRead(BaseModel):
    id: str
    valuation_id: str
    bank_code: str
    value_cny: MoneyOut
    method: str
    valued_on: date
    notes: str | None
    recorded_by: str
    created_at: datetime


class ValuationRead(BaseModel):
    id: str
    application_no: str
    patent_kind: str
    owner_usccs: list[str]
    purpose: Purpose
    valuation_date: date
    value_cny: MoneyOut
    low_cny: MoneyOut
    high_cny: MoneyOut
    method: str = Field(description="Method codes used, joined by '+'")
    valid_until: date | None
    methods: list[dict[str, Any]] = Field(description="Each method: value, formula, figures, "
                                                      "per-year or per-comparable lines, weight")
    combination: dict[str, Any] = Field(description="How the methods were combined (pack "
                                                    "weights) and how the range was set")
    indicators: dict[str, Any] = Field(description="Legal / technical / economic indicator "
                                                   "scores with weights and sources")
    comparables: list[dict[str, Any]] = Field(description="The comparables the market approach "
                                                          "used")
    assumptions: list[dict[str, str]]
    warnings: list[str]
    inputs: dict[str, Any] = Field(description="The request's method inputs, as used")
    facts: dict[str, Any] = Field(description="The patent facts the valuation read")
    pack: dict[str, Any] = Field(description="Policy pack applied, with its sources")
    basis: dict[str, Any] = Field(description="Why the patent could be valued: the rules "
                                              "checked (kind covered, granted, in force)")
    inputs_hash: str = Field(description="sha256 over every input: identical inputs, identical "
                                         "result")
    bank_assessments: list[BankAssessmentRead]
    requested_by: str
    requester_department: str
    created_at: datetime
    revision: int


class ValuationPage(BaseModel):
    items: list[ValuationRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at "
                                                 "the end")
