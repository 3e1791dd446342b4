"""Request and response bodies for reward claims.

Money is CNY yuan (元): sent as a decimal string or number with at most two decimals, returned
as a string with exactly two ("20000.00"). The claim as read here is the snapshot the claim
events carry, plus the evidence, why a payment waits, and when the claim was made.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.rewards.claims.models import CLAIM_STATUSES

AmountIn = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2,
                                    examples=["20000.00"], description="CNY yuan (元)")]
MoneyOut = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["20000.00"],
                                description="CNY yuan (元), two decimals")]
ClaimStatus = Literal[CLAIM_STATUSES]  # type: ignore[valid-type]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EvidenceIn(_In):
    code: str = Field(pattern=r"^[a-z0-9_]+$", max_length=60, examples=["recognition_notice"],
                      description="The rule's evidence code (GET /v1/policies lists them)")
    document_no: str = Field(min_length=1, max_length=200, examples=["晋知发〔2026〕12号"],
                             description="Number of the document attached")
    description: str | None = Field(None, max_length=1000)


class ClaimCreate(_In):
    """An organisation claims a reward under one rule for one item, with evidence."""

    uscc: str = Field(min_length=18, max_length=18, description="统一社会信用代码 of the claimant")
    pack_id: str = Field(min_length=1, max_length=70, examples=["rewards-shanxi-2025"],
                         description="Pack id (the version in force on the item's date applies) "
                                     "or id@vN")
    rule_code: str = Field(min_length=1, max_length=60, examples=["patent_intensive_product"])
    item_ref: str = Field(min_length=1, max_length=120, examples=["a3c1…"],
                          description="The rewarded item as the registry names it (product id, "
                                      "trademark reg no, qualification id, licence id, USCC "
                                      "for a pool graduation, application no); free for a "
                                      "manual rule")
    item_date: date | None = Field(None, description="When the item happened, if the registry "
                                                     "has not announced it; default today")
    requested_cny: AmountIn | None = Field(None, description="For up-to and assessed rules")
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class DecisionCreate(_In):
    """The owning department's decision on a claim in review."""

    decision: Literal["approve", "reject"]
    reason: str = Field(min_length=2, max_length=2000, description="Why (recorded, published)")
    amount_cny: AmountIn | None = Field(None, description="Required when approving an assessed "
                                                          "or up-to rule's claim")


class RecoveryCreate(_In):
    """Closing a clawed-back claim: the money came back, or recovery is waived."""

    outcome: Literal["recovered", "waived"]
    amount_cny: AmountIn | None = Field(None, description="Required for recovered: at most "
                                                          "what was paid")
    reference: str | None = Field(None, max_length=200, description="Transfer or decision no.")
    reason: str = Field(min_length=2, max_length=2000)


class ClaimRead(BaseModel):
    claim_id: str
    uscc: str
    enterprise_name: str | None
    province_code: str | None
    region_code: str | None
    pack: str = Field(description="The pack version applied (id@vN)")
    pack_id: str
    jurisdiction: str
    rule_code: str
    rule_name_zh: str | None = None
    clause: dict[str, Any] = Field(description="Document and clause of the rule")
    item_kind: str
    item_ref: str
    item_date: date
    origin: Literal["event", "filed"]
    trigger_event_id: str | None
    status: ClaimStatus
    amount_cny: MoneyOut | None = Field(description="After every cap; null until assessed")
    requested_cny: MoneyOut | None
    doubt_flags: list[str] = Field(description="Why a person decides (empty: approved "
                                               "without a meeting, 不见面审批)")
    department: str = Field(description="The department that decides")
    review_due_on: date | None
    fund_code: str
    decided_by: str | None = Field(description="Token subject of the officer, or system")
    decided_department: str | None
    decided_at: datetime | None
    decision_reason: str | None
    paid_cny: MoneyOut | None
    paid_on: date | None
    ledger_entry_id: int | None
    payment_blocked: str | None = Field(description="fund_missing | insufficient_balance: an "
                                                    "approved claim waiting for money")
    hold_reason: str | None
    status_before_hold: str | None
    recovery_reason: str | None
    recovered_cny: MoneyOut | None
    reserved: dict[str, str] = Field(description="What the claim holds in each cap tally")
    evidence: list[dict[str, Any]]
    basis: list[dict[str, Any]] = Field(description="Every check with pass/fail, figures and "
                                                    "clause; decisions with who and why")
    filed_by: str | None
    revision: int
    at: datetime = Field(description="When the claim last changed")
    created_at: datetime


class ClaimPage(BaseModel):
    items: list[ClaimRead]
    next_cursor: str | None
