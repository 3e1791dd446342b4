"""Request and response bodies for enterprises (never the ORM classes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Ownership(StrEnum):
    private = "private"
    state = "state"
    foreign = "foreign"
    mixed = "mixed"
    collective = "collective"


class _Figures(BaseModel):
    employees: int | None = Field(None, ge=0, le=10_000_000, description="从业人员 (persons)")
    revenue_10k_cny: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                            description="营业收入, 万元 (10,000 CNY)")
    total_assets_10k_cny: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2,
                                                 description="资产总额, 万元 (10,000 CNY)")
    figures_year: int | None = Field(None, ge=1949, le=2100,
                                     description="The year the figures refer to")

    @field_validator("revenue_10k_cny", "total_assets_10k_cny")
    @classmethod
    def _cents(cls, value: Decimal | None) -> Decimal | None:
        """万元 amounts are kept to two decimals, the same in the basis, the DB and events."""
        return None if value is None else value.quantize(Decimal("0.01"))


class EnterpriseCreate(_Figures):
    """Register an enterprise (market regulation bureau)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: str = Field(min_length=15, max_length=40, examples=["91320500MA1B2C3D8W"],
                      description="统一社会信用代码 (GB 32100-2015); spaces and lower case are "
                                  "normalised, the check character is verified")
    name: str = Field(min_length=1, max_length=200, description="企业名称")
    region_code: str | None = Field(None, examples=["140200"],
                                    description="GB/T 2260 code of the registered region")
    industry_code: str | None = Field(None, examples=["C3911"],
                                      description="GB/T 4754-2017 code (section letter optional)")
    ownership: Ownership | None = Field(None, description="所有制: private 民营, state 国有 …")
    founded_on: date | None = Field(None, description="成立日期")
    uscc_check_override_reason: str | None = Field(
        None, max_length=500,
        description="Officer override for lawful legacy codes failing the GB 32100 check "
                    "character (e.g. early Fujian pilot codes); the reason is recorded")


class EnterpriseUpdate(_Figures):
    """Change registered facts; send only what changes (``If-Match`` with the ETag required)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    region_code: str | None = None
    industry_code: str | None = None
    ownership: Ownership | None = None
    founded_on: date | None = None


class EnterpriseRead(BaseModel):
    uscc: str
    name: str
    region_code: str | None
    province_code: str | None
    province_name: str | None = None
    industry_code: str | None
    industry_section: str | None
    ownership: str | None
    founded_on: date | None
    employees: int | None
    revenue_10k_cny: Decimal | None
    total_assets_10k_cny: Decimal | None
    figures_year: int | None
    size_class: str | None = Field(description="large | medium | small | micro; null when the "
                                               "figures or industry do not allow a decision")
    size_basis: dict[str, Any] | None = Field(description="Why: rules checked, figures, clause")
    uscc_warnings: list[str] = Field(default_factory=list,
                                     description="Non-fatal findings of USCC validation")
    revision: int
    created_at: datetime
    updated_at: datetime


class QualificationSummary(BaseModel):
    id: int | str
    kind: str
    kind_name_zh: str
    level: str
    issuing_body: str | None = None
    certificate_no: str | None = None
    valid_from: date
    valid_to: date


class CreditFlagSummary(BaseModel):
    id: int | str
    kind: str
    kind_name_zh: str
    source: str | None = None
    reference: str | None = None
    flagged_on: date


class EnterpriseDetail(EnterpriseRead):
    """The full record: registered facts plus what other registry domains say about it."""

    qualifications: list[QualificationSummary] = Field(description="资质 in force today")
    credit_flags: list[CreditFlagSummary] = Field(description="Active credit / compliance flags")
    has_active_credit_flag: bool
    high_value_patents: int = Field(description="Owned in-force high-value invention patents")


class EnterprisePage(BaseModel):
    items: list[EnterpriseRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end")
