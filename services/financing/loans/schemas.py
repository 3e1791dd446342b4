"""Request and response bodies for pledge loans, co-owner consents and bank quotas.

Money is CNY yuan (元): sent as a decimal string or number with at most two decimals, returned
as a string with exactly two ("3200000.00"). Rates are decimal strings ("0.0385" = 3.85 %/year).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.financing.loans.machine import LoanStatus

AmountIn = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2,
                                    examples=["3200000.00"], description="CNY yuan (元)")]
MoneyOut = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["3200000.00"],
                                description="CNY yuan (元), two decimals")]
BANK_CODE = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$",
                  examples=["BANK001"], description="The lending bank's code (its token's org)")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- requests -----------------------------------------------------------------------------------

class LoanCreate(_In):
    """Apply for a patent-pledge loan (the enterprise itself)."""

    bank_code: str = BANK_CODE
    requested_amount_cny: AmountIn
    term_months: int = Field(ge=1, le=360, description="Requested term in months")
    purpose: str = Field(min_length=2, max_length=1000, examples=["研发中试线流动资金"])
    patents: list[str] = Field(min_length=1, max_length=50,
                               examples=[["202310123456.7"]],
                               description="Application numbers (申请号) of the patents to "
                                           "pledge; each owned by the applicant, granted, in "
                                           "force, pledgeable and not pledged")


class LoanReview(_In):
    """The bank takes the application under review (受理)."""

    note: str | None = Field(None, max_length=1000)


class LoanDecision(_In):
    """The lending bank's decision: approve with amount, rate and term, or reject with reason."""

    decision: Literal["approve", "reject"]
    approved_amount_cny: AmountIn | None = Field(
        None, description="approve: at most the requested amount and the pledge cap")
    interest_rate: Decimal | None = Field(None, gt=0, lt=1, max_digits=9, decimal_places=6,
                                          examples=["0.0385"],
                                          description="approve: annual rate as a fraction")
    term_months: int | None = Field(None, ge=1, le=360, description="approve: term in months")
    reason: str | None = Field(None, min_length=2, max_length=1000,
                               description="reject: why (sent to the applicant)")

    @model_validator(mode="after")
    def _complete(self) -> "LoanDecision":
        if self.decision == "approve":
            missing = [n for n in ("approved_amount_cny", "interest_rate", "term_months")
                       if getattr(self, n) is None]
            if missing:
                raise ValueError(f"an approval needs {', '.join(missing)}")
        elif not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


class PledgeRegistrationItem(_In):
    application_no: str = Field(min_length=1, max_length=40)
    registration_no: str = Field(min_length=1, max_length=64,
                                 description="CNIPA 专利权质押登记号")
    registered_on: date | None = Field(None, description="Default today (China)")


class PledgeRegistration(_In):
    """CNIPA registered the pledges (Rule 15, jointly by pledgor and pledgee): one per patent."""

    pledgee_name: str = Field(min_length=1, max_length=200,
                              examples=["示例银行股份有限公司大同分行"],
                              description="质权人 as registered at CNIPA")
    pledgee_consent_to_open_licence: bool | None = Field(
        None, description="Whether the bank consents to open-licence declarations (Rule 86)")
    registrations: list[PledgeRegistrationItem] = Field(min_length=1, max_length=50)


class LoanDisbursement(_In):
    amount_cny: AmountIn | None = Field(None, description="Default the approved amount")
    disbursed_on: date | None = Field(None, description="Default today (China)")


class LoanRepayment(_In):
    """Repaid in full: the pledges are released."""

    repaid_on: date | None = Field(None, description="Default today (China)")


class LoanOverdue(_In):
    overdue_since: date = Field(description="First day past due")
    outstanding_principal_cny: AmountIn | None = Field(
        None, description="Default the outstanding principal")


class LoanDefault(_In):
    """The bank declares the loan in default and reports the principal at risk."""

    defaulted_on: date | None = Field(None, description="Default today (China)")
    outstanding_principal_cny: AmountIn = Field(description="未偿本金 at default")
    principal_loss_cny: AmountIn = Field(description="本金损失 the bank reports (≤ outstanding)")


class LoanClose(_In):
    note: str | None = Field(None, max_length=1000)


class LoanWithdrawal(_In):
    reason: str | None = Field(None, max_length=1000)


class ConsentCreate(_In):
    """A co-owner consents to a pledge of the patent by ``for_uscc`` (共有人同意质押)."""

    for_uscc: str = Field(min_length=18, max_length=18,
                          description="The co-owner allowed to pledge the patent")
    document_ref: str = Field(min_length=1, max_length=200, examples=["同意函〔2026〕3号"],
                              description="Reference of the written consent")
    owner_name: str | None = Field(
        None, min_length=1, max_length=200,
        description="market_regulation only: the individual co-owner (no USCC) whose paper "
                    "consent is recorded, as named in the register")


class ConsentWithdrawal(_In):
    owner_name: str | None = Field(None, min_length=1, max_length=200,
                                   description="market_regulation only, as for the consent")


class QuotaSet(_In):
    quota_cny: AmountIn
    note: str | None = Field(None, max_length=1000)


# --- responses ----------------------------------------------------------------------------------

class PledgeRead(BaseModel):
    id: str
    application_no: str
    kind: str
    pledgor_uscc: str
    pledgee_bank_code: str
    pledgee_name: str | None
    status: Literal["applied", "approved", "registered", "released"]
    registration_no: str | None
    registered_on: date | None
    secured_amount_cny: MoneyOut | None
    valuation_id: str | None
    valuation_value_cny: MoneyOut | None
    pledge_rate: str | None
    released_on: date | None
    release_reason: str | None
    revision: int


class TransitionRead(BaseModel):
    action: str
    to: LoanStatus
    actor: str


class LoanRead(BaseModel):
    id: str
    borrower_uscc: str
    borrower_name: str
    bank_code: str
    status: LoanStatus
    allowed_transitions: list[TransitionRead] = Field(description="What may happen next")
    requested_amount_cny: MoneyOut
    term_months: int
    purpose: str
    applied_on: date
    region_code: str | None
    province_code: str | None
    tier_code: str | None = Field(description="Whitelist tier at application")
    pool_member: bool = Field(description="In the cultivation pool at application")
    pack: str
    application_basis: dict[str, Any]
    green_channel: bool = Field(description="绿色通道: whitelisted at application")
    decision_deadline: date | None
    green_channel_basis: dict[str, Any]
    green_channel_breached_on: date | None
    decision_late: bool | None
    decision: Literal["approve", "reject"] | None
    decided_on: date | None
    decided_at: datetime | None
    decision_basis: dict[str, Any] | None = Field(
        description="Cap computation, valuations used, pack and quota figures")
    rejection_reason: str | None
    approved_amount_cny: MoneyOut | None
    interest_rate: str | None
    approved_term_months: int | None
    quota_year: int | None
    quota_counted_cny: MoneyOut | None
    disbursed_amount_cny: MoneyOut | None
    disbursed_on: date | None
    maturity_on: date | None
    outstanding_principal_cny: MoneyOut | None
    repaid_on: date | None
    overdue_since: date | None
    defaulted_on: date | None
    principal_loss_cny: MoneyOut | None
    compensation_claim_id: str | None
    compensated_amount_cny: MoneyOut | None
    closed_on: date | None
    close_reason: str | None
    pledges: list[PledgeRead]
    history: list[dict[str, Any]]
    revision: int
    created_at: datetime
    updated_at: datetime


class LoanPage(BaseModel):
    items: list[LoanRead]
    next_cursor: str | None


class GreenChannelItem(BaseModel):
    loan_id: str
    borrower_uscc: str
    borrower_name: str
    bank_code: str
    status: LoanStatus
    applied_on: date
    decision_deadline: date
    decided_on: date | None
    days_late: int = Field(description="Days past the deadline (today, if still undecided)")
    still_undecided: bool
    green_channel_breached_on: date | None


class GreenChannelOverdue(BaseModel):
    as_of: date
    items: list[GreenChannelItem]


class ConsentRead(BaseModel):
    application_no: str
    owner_key: str = Field(description="The consenting co-owner: its USCC, or its name")
    for_uscc: str
    document_ref: str
    recorded_by: str
    recorded_at: datetime
    withdrawn_at: datetime | None
    active: bool


class ConsentList(BaseModel):
    application_no: str
    owners: list[dict[str, Any]]
    items: list[ConsentRead]


class QuotaApproval(BaseModel):
    loan_id: str
    borrower_uscc: str
    amount_cny: MoneyOut
    decided_on: date | None


class QuotaRead(BaseModel):
    bank_code: str
    year: int
    quota_cny: MoneyOut
    used_cny: MoneyOut
    remaining_cny: MoneyOut
    note: str | None
    set_by: str
    approvals: list[QuotaApproval] = Field(description="The approvals counted against it")
    revision: int
    updated_at: datetime
