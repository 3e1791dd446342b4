"""Request and response bodies for licences: an open licence taken (Art 51: written notice and
payment on the published terms) or a negotiated exclusive / sole / ordinary licence recorded.

Money is CNY yuan (元), returned as strings with two decimals; rates are shares (0-1).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.matching.openlicenses.schemas import CoOwnerConsent

AmountIn = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2,
                                    examples=["50000.00"], description="CNY yuan (元)")]
RateIn = Annotated[Decimal, Field(ge=0, le=1, max_digits=9, decimal_places=6, examples=["0.05"])]
MoneyOut = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]{2}$", examples=["50000.00"])]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Notice(_In):
    """The licensee's written notice to the patentee (书面通知, Art 51)."""

    sent_on: date
    reference: str = Field(min_length=1, max_length=200, description="letter / filing reference")


class Payment(_In):
    """The payment made under the published terms (the first one, for a royalty)."""

    amount_cny: AmountIn
    paid_on: date
    reference: str | None = Field(None, max_length=200, description="bank transfer reference")


class OpenLicenseTake(_In):
    """Take a published open licence: an enterprise for itself (market_regulation may record
    one for a licensee)."""

    type: Literal["open"]
    open_license_id: str = Field(pattern=UUID_PATTERN)
    licensee_uscc: str | None = Field(None, min_length=18, max_length=18,
                                      description="default: the caller's organisation")
    notice: Notice
    payment: Payment | None = Field(None, description="required unless the licence is free")


class Party(_In):
    uscc: str | None = Field(None, min_length=18, max_length=18)
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="required when matching does not know the uscc")
    industry_code: str | None = Field(None, max_length=10, description="GB/T 4754-2017")
    region_code: str | None = Field(None, max_length=6, description="GB/T 2260")


class NegotiatedLicenseCreate(_In):
    """Record a negotiated licence (the patentee, or market_regulation)."""

    type: Literal["exclusive", "sole", "ordinary"] = Field(
        description="独占 exclusive, 排他 sole, 普通 ordinary")
    application_no: str = Field(min_length=8, max_length=40)
    licensor_uscc: str | None = Field(None, min_length=18, max_length=18,
                                      description="default: the caller's organisation")
    licensee: Party
    payment_method: Literal["lump_sum", "royalty", "entry_fee_plus_royalty", "free"]
    lump_sum_cny: AmountIn | None = None
    entry_fee_cny: AmountIn | None = None
    royalty_rate: RateIn | None = None
    royalty_base: Literal["net_sales", "profit"] | None = None
    starts_on: date
    ends_on: date | None = None
    contract_reference: str = Field(min_length=1, max_length=200, description="合同编号")
    co_owner_consents: list[CoOwnerConsent] = Field(
        default_factory=list, max_length=50,
        description="exclusive / sole licence of a co-owned patent: every other co-owner's "
                    "written consent (Patent Law Art 14)")


LicenseCreate = Annotated[OpenLicenseTake | NegotiatedLicenseCreate, Field(discriminator="type")]


class FeeRead(BaseModel):
    payment_method: str
    lump_sum_cny: MoneyOut | None
    entry_fee_cny: MoneyOut | None
    royalty_rate: str | None
    royalty_base: str | None


class LicenseRead(BaseModel):
    id: str
    application_no: str
    patent_kind: str
    ipc_codes: list[str]
    license_type: str
    open_license_id: str | None
    licensor: dict[str, Any]
    licensee: dict[str, Any]
    fee: FeeRead
    starts_on: date
    ends_on: date | None
    notice: dict[str, Any] | None
    payment: dict[str, Any] | None
    contract_reference: str | None
    granted_at: datetime
    recorded_by: str
    recorded_by_department: str
    verified: bool = Field(description="open licence taken, or recorded by market_regulation: "
                                       "a price comparable; a party's own record is not")
    basis: dict[str, Any]


class LicensePage(BaseModel):
    items: list[LicenseRead]
    next_cursor: str | None
