"""Request and response bodies for open-licence declarations (专利开放许可声明).

Money is CNY yuan (元): sent as a decimal string or number with at most two decimals, returned
as a string with exactly two ("50000.00"). Rates are decimal strings of a share (0-1):
"0.05" = 5 % of the royalty base.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PaymentMethod = Literal["lump_sum", "royalty", "entry_fee_plus_royalty", "free"]
PatenteeType = Literal["university", "research_institute", "enterprise", "individual", "other"]
Status = Literal["declared", "published", "withdrawn", "suspended", "refused"]
AmountIn = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2,
                                    examples=["50000.00"], description="CNY yuan (元)")]
RateIn = Annotated[Decimal, Field(ge=0, le=1, max_digits=9, decimal_places=6,
                                  examples=["0.05"], description="share of the royalty base")]
MoneyOut = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]{2}$", examples=["50000.00"],
                                description="CNY yuan (元), two decimals")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CoOwnerConsent(_In):
    """A co-owner's written consent to the declaration (§3.1: all co-owners must agree)."""

    uscc: str | None = Field(None, max_length=40, description="the co-owner's USCC, if it has one")
    name: str = Field(min_length=1, max_length=200)
    document_ref: str = Field(min_length=1, max_length=200,
                              description="reference of the signed consent document")


class OpenLicenseCreate(_In):
    """Declare an open licence for one's own granted, in-force patent (Art 50, Rule 85)."""

    application_no: str = Field(min_length=8, max_length=40, examples=["202310123456.7"],
                                description="申请号 (any common form)")
    patentee_type: PatenteeType | None = Field(
        None, description="university | research_institute | enterprise | individual | other; "
                          "checked against the USCC category (12… 事业单位, 91… 企业); may be "
                          "omitted when the category allows only one")
    payment_method: PaymentMethod = Field(description="一次性付费 lump_sum, 提成 royalty, "
                                                      "入门费加提成 entry_fee_plus_royalty, free")
    lump_sum_cny: AmountIn | None = None
    entry_fee_cny: AmountIn | None = None
    royalty_rate: RateIn | None = None
    royalty_base: Literal["net_sales", "profit"] | None = None
    payment_terms: str | None = Field(None, max_length=2000,
                                      description="when and how payments fall due")
    starts_on: date
    ends_on: date = Field(description="not after the patent's term end")
    technical_field: str | None = Field(None, max_length=500, description="技术领域")
    application_scenarios: str | None = Field(None, max_length=5000, description="应用场景")
    claims: str | None = Field(None, max_length=50_000, description="权利要求 (product information)")
    keywords: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=30)
    industry_codes: list[str] = Field(default_factory=list, max_length=20,
                                      description="GB/T 4754-2017 codes the licence targets")
    evaluation_report_ref: str | None = Field(
        None, max_length=200, description="专利权评价报告 reference: required for utility models "
                                          "and designs (Art 50)")
    co_owner_consents: list[CoOwnerConsent] = Field(default_factory=list, max_length=50)


class Publication(_In):
    note: str | None = Field(None, max_length=1000)


class Withdrawal(_In):
    reason: str = Field(min_length=2, max_length=1000, description="why (Art 50: written)")


class BasisLine(BaseModel):
    code: str
    passed: bool
    detail: str
    clause: dict[str, Any]
    field: str | None = None
    figures: dict[str, Any] | None = None


class OpenLicenseRead(BaseModel):
    id: str
    application_no: str
    patent_kind: str
    status: Status
    patentee_uscc: str | None
    patentee_name: str
    patentee_type: str
    region_code: str | None
    title: str
    abstract: str | None
    claims: str | None
    technical_field: str | None
    application_scenarios: str | None
    keywords: list[str]
    ipc_codes: list[str]
    industry_codes: list[str]
    payment_method: PaymentMethod
    lump_sum_cny: MoneyOut | None
    entry_fee_cny: MoneyOut | None
    royalty_rate: str | None
    royalty_base: str | None
    payment_terms: str | None
    starts_on: date
    ends_on: date
    grant_date: date | None
    evaluation_report_ref: str | None
    co_owner_consents: list[dict[str, Any]]
    basis: dict[str, Any] = Field(description="the declaration checks, each with its clause")
    fee_guidance: dict[str, Any] = Field(description="suggested royalty range and flags (never "
                                                     "a refusal)")
    suspension_reasons: list[str]
    declared_by: str | None
    published_by: str | None
    withdrawn_by: str | None
    published_on: date | None
    withdrawn_on: date | None
    withdrawal_reason: str | None
    licenses_granted: int = Field(description="licences taken under this declaration")
    licenses_in_force: int = Field(description="of which not yet ended")
    allowed_transitions: list[str]
    revision: int
    created_at: datetime
    changed_at: datetime


class OpenLicensePage(BaseModel):
    items: list[OpenLicenseRead]
    next_cursor: str | None


class FeeGuidanceRead(BaseModel):
    """The suggested royalty range for an industry / IPC subclass, and the soft limits."""

    industry_code: str | None
    ipc_subclass: str | None
    royalty_base: str
    suggestion: dict[str, Any]
    soft_limits: dict[str, Any]
    pack: str
