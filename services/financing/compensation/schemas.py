"""Request and response bodies for compensation funds, their ledgers and claims.

Money is CNY yuan (元): sent as a decimal string or number with at most two decimals, returned
as a string with exactly two ("1080000.00"). Shares are decimal strings ("0.54").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AmountIn = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2,
                                    examples=["2000000.00"], description="CNY yuan (元)")]
MoneyOut = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["1080000.00"],
                                description="CNY yuan (元), two decimals")]
ClaimStatus = Literal["filed", "paid"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- requests -----------------------------------------------------------------------------------

class FundCreate(_In):
    """A risk-compensation fund (风险补偿资金池) of one jurisdiction, applying one pack."""

    name: str = Field(min_length=2, max_length=200, examples=["中山市知识产权质押融资风险补偿资金"])
    jurisdiction: str = Field(min_length=6, max_length=6, examples=["442000"],
                              description="GB/T 2260 code of the area whose loans it covers "
                                          "(440000 a province, 440100 a city)")
    pack_id: str = Field(min_length=1, max_length=60, examples=["compensation-zhongshan"],
                         description="The compensation pack whose shares, caps and eligibility "
                                     "apply (GET /v1/compensation/packs)")
    note: str | None = Field(None, max_length=1000)


class DepositCreate(_In):
    """A top-up of the fund (财政注资), entered in its ledger."""

    amount_cny: AmountIn
    reference: str = Field(min_length=1, max_length=200, examples=["中财预〔2026〕12号"],
                           description="Budget document or transfer number")
    deposited_on: date | None = Field(None, description="Value date; default today (China)")
    note: str | None = Field(None, max_length=1000)


class EvidenceItem(_In):
    kind: str = Field(min_length=1, max_length=100, examples=["court_judgment"],
                      description="What it is: 催收记录, 诉讼/仲裁文书, 处置记录 …")
    reference: str = Field(min_length=1, max_length=200, examples=["(2026)粤2071民初123号"])
    note: str | None = Field(None, max_length=1000)


class ClaimCreate(_In):
    """The lending bank claims compensation for a defaulted loan's principal loss."""

    loan_id: str = Field(min_length=36, max_length=36, description="The defaulted loan")
    principal_loss_cny: AmountIn = Field(
        description="本金损失 claimed: at most the loss reported at default")
    evidence: list[EvidenceItem] = Field(min_length=1, max_length=50)
    other_collateral_cny: Decimal = Field(
        Decimal("0.00"), ge=0, max_digits=18, decimal_places=2,
        description="Non-IP collateral securing the loan (0: a pure IP pledge); for a mixed "
                    "pledge only the IP-secured part of the loss counts")
    fund_id: str | None = Field(None, min_length=36, max_length=36, description=(
        "The fund claimed on; default the fund whose jurisdiction covers the borrower's region "
        "most closely"))


class PaymentCreate(_In):
    """The fund manager pays a claim (market regulation bureau)."""

    paid_on: date | None = Field(None, description="Value date; default today (China)")
    note: str | None = Field(None, max_length=1000)


# --- responses ----------------------------------------------------------------------------------

class LedgerEntryRead(BaseModel):
    id: int
    kind: Literal["deposit", "payment"]
    amount_cny: MoneyOut = Field(description="signed: + deposit, − payment")
    balance_after_cny: MoneyOut
    claim_id: str | None
    loan_id: str | None = None
    reference: str | None
    note: str | None
    booked_on: date
    by: str = Field(description="who booked it (token subject)")
    by_department: str
    at: datetime


class FundRead(BaseModel):
    id: str
    name: str
    jurisdiction: str
    pack_id: str
    pack_versions: list[str] = Field(description="id@vN with the dates each is in force")
    balance_cny: MoneyOut
    deposited_cny: MoneyOut
    paid_cny: MoneyOut
    note: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class FundDetail(FundRead):
    ledger: list[LedgerEntryRead] = Field(description="Oldest first; ledger amounts sum to the "
                                                      "balance")
    next_cursor: str | None = None


class FundList(BaseModel):
    items: list[FundRead]


class ClaimRead(BaseModel):
    id: str
    loan_id: str
    fund_id: str
    bank_code: str
    borrower_uscc: str
    status: ClaimStatus
    principal_loss_cny: MoneyOut
    other_collateral_cny: MoneyOut
    evidence: list[dict[str, Any]]
    pack: str
    fund_share_cny: MoneyOut = Field(description="The pack's fund share of the covered loss")
    claimable_cny: MoneyOut = Field(description="After the per-loan and per-borrower caps")
    payable_cny: MoneyOut = Field(description="Within the fund's balance when filed")
    binding_cap: str | None = Field(description="The cap that limited the amount, if any")
    basis: dict[str, Any] = Field(description="Every rule, share and cap with figures and clause")
    filed_by: str
    filed_at: datetime
    paid_cny: MoneyOut | None
    paid_on: date | None
    paid_at: datetime | None
    paid_by: str | None
    payment_basis: dict[str, Any] | None
    payment_note: str | None
    revision: int


class ClaimPage(BaseModel):
    items: list[ClaimRead]
    next_cursor: str | None


class PackRead(BaseModel):
    id: str
    version: int
    jurisdiction: str
    title: str
    effective_from: date
    effective_to: date | None
    verified: bool
    shares: list[dict[str, Any]]
    caps: dict[str, Any]
    eligibility: dict[str, Any]
    sources: list[dict[str, Any]]


class PackList(BaseModel):
    items: list[PackRead]


class DepositRead(BaseModel):
    fund: FundRead
    entry: LedgerEntryRead
