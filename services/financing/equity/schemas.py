"""Request and response bodies for the equity track (never the ORM classes).

Money is CNY yuan (元): sent as a decimal string or number with at most two decimals, returned
as a string with exactly two ("5000000.00"). Percentages are decimal strings ("12.5" = 12.5 %).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.financing.equity.rules import ASSESSABLE, ItemStatus

AmountIn = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2,
                                    examples=["5000000.00"], description="CNY yuan (元)")]
MoneyOut = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]{2}$", examples=["5000000.00"],
                                description="CNY yuan (元), two decimals")]
Percent = Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4,
                                   examples=["12.5"], description="percent of the share capital")]
APPLICATION_NO = r"^([0-9]{12}\.[0-9X]|[0-9]{8}(\.[0-9X])?)$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListingCreate(_In):
    """Record a pool enterprise's registration (挂牌) on a regional equity market."""

    market_name: str = Field(min_length=2, max_length=200, examples=["山西股权交易中心"],
                             description="区域性股权市场 operator")
    board: str = Field(min_length=1, max_length=100, examples=["专精特新专板"],
                       description="板块 the enterprise is registered on")
    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z.\-]+$",
                      examples=["830123"], description="挂牌代码 on that market")
    listed_on: date = Field(description="挂牌日期 (not in the future)")


class ListingRead(BaseModel):
    id: str
    uscc: str
    market_name: str
    board: str
    code: str
    listed_on: date
    basis: dict[str, Any] = Field(description="The pool-membership rule, its figures and the "
                                              "five-ministry plan's clause")
    recorded_by: str
    recorded_at: datetime


class Instrument(StrEnum):
    common_equity = "common_equity"                        # 普通股权
    preferred_shares = "preferred_shares"                  # 优先股（区域性股权市场登记存管）
    tech_achievement_warrant = "tech_achievement_warrant"  # 科技成果+认股权


class PreferredTerms(_In):
    """Preferred shares registered and held in custody on a regional equity market (登记存管)."""

    registered_market: str = Field(min_length=2, max_length=200, examples=["山西股权交易中心"])
    registration_no: str = Field(min_length=1, max_length=64, description="登记存管编号")
    registered_on: date
    dividend_rate: Decimal | None = Field(None, gt=0, le=1, max_digits=7, decimal_places=6,
                                          description="fixed dividend rate per year (0-1)")


class WarrantTerms(_In):
    """科技成果+认股权: a technology achievement contributed now, with a warrant to subscribe
    shares later on the terms below."""

    achievement: str = Field(min_length=2, max_length=500, examples=["一种正极材料制备方法"],
                             description="The technology achievement (科技成果)")
    application_nos: list[Annotated[str, Field(pattern=APPLICATION_NO)]] = Field(
        default_factory=list, max_length=50, description="Patents embodying the achievement")
    warrant_holder: str = Field(min_length=2, max_length=200,
                                examples=["太原理工大学"], description="Who holds the warrant")
    shares_pct: Percent = Field(description="Share of the capital the warrant may subscribe")
    exercise_price_cny: AmountIn | None = Field(None, description="Total subscription price")
    exercise_from: date
    exercise_to: date
    conditions: str | None = Field(None, max_length=1000, description="行权条件")

    @model_validator(mode="after")
    def _window(self) -> "WarrantTerms":
        if self.exercise_to <= self.exercise_from:
            raise ValueError("exercise_to must be after exercise_from")
        return self


class InvestmentCreate(_In):
    """Record a guidance-fund investment (政府引导基金) in an enterprise."""

    fund_name: str = Field(min_length=2, max_length=200, examples=["山西省中小企业发展基金"])
    amount_cny: AmountIn
    instrument: Instrument = Field(description=(
        "common_equity 普通股权; preferred_shares 优先股 (registered on a regional equity market: "
        "`preferred` required); tech_achievement_warrant 科技成果+认股权 (`warrant` required)"))
    invested_on: date = Field(description="Date of the investment (not in the future)")
    shareholding_pct: Percent | None = None
    preferred: PreferredTerms | None = None
    warrant: WarrantTerms | None = None


class InvestmentRead(BaseModel):
    id: str
    uscc: str
    fund_name: str
    amount_cny: MoneyOut
    instrument: Instrument
    invested_on: date
    shareholding_pct: str | None
    preferred: dict[str, Any] | None
    warrant: dict[str, Any] | None
    basis: dict[str, Any]
    recorded_by: str
    recorded_at: datetime


class ItemAssessment(_In):
    code: str = Field(min_length=1, max_length=60, examples=["no_undisclosed_pledge"])
    status: ItemStatus = Field(description="ok | issue | n/a")
    note: str | None = Field(None, max_length=1000, examples=["质押已在招股说明书第4.2节披露"],
                             description="Required to clear an issue the facts found")

    @model_validator(mode="after")
    def _assessable(self) -> "ItemAssessment":
        if self.status not in ASSESSABLE:
            raise ValueError("status is ok, issue or n/a")
        return self


class ChecklistUpdate(_In):
    """The officer's assessments (all of them: the set replaces the previous one); items the
    facts decide are recomputed on every update."""

    items: list[ItemAssessment] = Field(default_factory=list, max_length=100)


class ChecklistItemRead(BaseModel):
    code: str
    title_zh: str
    title_en: str
    status: str = Field(description="ok | issue | n/a | unassessed")
    decided_by: str | None = Field(description="facts | officer | null (unassessed)")
    note: str | None
    computed: dict[str, Any] | None = Field(description="The facts-based finding: check, "
                                                        "status (null: undecided), figures")
    assessment: dict[str, Any] | None
    clauses: list[dict[str, Any]]


class ChecklistRead(BaseModel):
    uscc: str
    items: list[ChecklistItemRead]
    counts: dict[str, int]
    ready: bool = Field(description="No item is an issue or unassessed")
    pack: str
    revision: int
    updated_by: str
    created_at: datetime
    updated_at: datetime


class PoolStanding(BaseModel):
    status: str
    admitted_on: date | None
    changed_on: date | None


class EquitySummary(BaseModel):
    uscc: str
    name: str | None
    pool: PoolStanding | None = Field(description="Cultivation-pool standing (样板企业培育库)")
    listings: list[ListingRead]
    investments: list[InvestmentRead]
    investment_total_cny: MoneyOut
    checklist: ChecklistRead | None
