"""Request and response bodies for enterprises (never the ORM classes)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Ownership(StrEnum):
    private = "private"
    state = "state"
    foreign = "foreign"
    mixed = "mixed"
    collective = "collective"


class EnterpriseCreate(BaseModel):
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


class EnterpriseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uscc: str
    name: str
    region_code: str | None
    province_code: str | None
    province_name: str | None = None
    industry_code: str | None
    industry_section: str | None
    ownership: str | None
    founded_on: date | None
    uscc_warnings: list[str] = Field(default_factory=list,
                                     description="Non-fatal findings of USCC validation")
    revision: int
    created_at: datetime
    updated_at: datetime
