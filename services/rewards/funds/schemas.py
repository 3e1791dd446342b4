"""Request and response bodies for reward funds and their ledgers (money: CNY yuan, 元)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import DEPARTMENTS

AmountIn = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2,
                                    examples=["1000000.00"], description="CNY yuan (元)")]
MoneyOut = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["1000000.00"],
                                description="CNY yuan (元), two decimals")]
SourceKind = Literal["sme_development", "srdi_award", "ip_fund", "central_fiscal", "other"]
Department = Literal[DEPARTMENTS]  # type: ignore[valid-type]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FundCreate(_In):
    """A fund that pays the claims of every rule naming its code (e.g. ``shanxi-ip-fund``)."""

    code: str = Field(min_length=2, max_length=60, pattern=r"^[a-z0-9-]+$",
                      examples=["shanxi-ip-fund"],
                      description="The code rules name as their fund (GET /v1/policies)")
    name: str = Field(min_length=2, max_length=200, examples=["山西省知识产权专项资金"])
    source_kind: SourceKind = Field(description="sme_development 中小企业发展专项资金, "
                                                "srdi_award 专精特新奖补资金, ip_fund 知识产权相关资金, "
                                                "central_fiscal 中央财政资金, other")
    jurisdiction: str = Field(pattern=r"^(national|[0-9]{2}|[0-9]{4}|[0-9]{6})$",
                              examples=["14"], description="national, or a GB/T 2260 code")
    manager_department: Department | None = Field(
        None, description="The department that moves its money; default the caller's")
    note: str | None = Field(None, max_length=1000)


class DepositCreate(_In):
    """A top-up of the fund (财政注资), entered in its ledger."""

    amount_cny: AmountIn
    reference: str = Field(min_length=1, max_length=200, examples=["晋财教〔2026〕15号"],
                           description="Budget document or transfer number")
    deposited_on: date | None = Field(None, description="Value date; default today (China)")
    note: str | None = Field(None, max_length=1000)


class LedgerEntryRead(BaseModel):
    id: int
    fund_code: str
    kind: Literal["deposit", "payment", "recovery"]
    amount_cny: MoneyOut = Field(description="signed: + deposit or recovery, − payment")
    balance_after_cny: MoneyOut
    claim_id: str | None
    reference: str | None
    note: str | None
    booked_on: date
    by: str = Field(description="who booked it (token subject, or system)")
    at: datetime


class FundRead(BaseModel):
    code: str
    name: str
    source_kind: str
    jurisdiction: str
    manager_department: str
    balance_cny: MoneyOut = Field(description="= deposited − paid + recovered; never below 0")
    deposited_cny: MoneyOut
    paid_cny: MoneyOut
    recovered_cny: MoneyOut
    blocked_claims: int = Field(description="Approved claims waiting for money from this fund")
    blocked_cny: MoneyOut
    note: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class FundList(BaseModel):
    items: list[FundRead]


class LedgerPage(BaseModel):
    items: list[LedgerEntryRead] = Field(description="Oldest first; amounts sum to the balance")
    next_cursor: str | None


class DepositRead(BaseModel):
    fund: FundRead
    entry: LedgerEntryRead
    claims_paid: int = Field(description="Waiting claims this deposit paid at once (the rest "
                                         "are paid by the retry task)")
