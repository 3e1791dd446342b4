"""Requests and responses of the cultivation pool (专利产业化样板企业培育库)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Industrialisation(_In):
    """专利产业化率 = patents industrialised (已实施产业化) / patents held (有效专利)."""

    patents_held: int = Field(ge=1, le=1_000_000, description="有效专利件数")
    patents_industrialised: int = Field(ge=0, le=1_000_000, description="已产业化专利件数")
    evidence: str | None = Field(None, max_length=500,
                                 description="where the figures come from (report, audit)")

    @model_validator(mode="after")
    def _not_more_than_held(self) -> "Industrialisation":
        if self.patents_industrialised > self.patents_held:
            raise ValueError("patents_industrialised cannot exceed patents_held")
        return self


class NominationCreate(_In):
    """The provincial IP office nominates an enterprise (推荐入库)."""

    uscc: str = Field(min_length=18, max_length=24, description="统一社会信用代码")
    nominated_on: date | None = Field(None, description="default today; not in the future")
    recommendation: str | None = Field(None, max_length=4000, description="推荐意见")
    industrialisation: Industrialisation = Field(
        description="the rate at admission: graduation measures the rise from it")
    quota_override_reason: str | None = Field(
        None, min_length=4, max_length=2000,
        description="admit beyond the province's cap (the plan says 一般, generally): "
                    "the officer's recorded reason")


class CoSignDecision(StrEnum):
    co_sign = "co_sign"
    decline = "decline"


class CoSignatureCreate(_In):
    """The co-signing department (会同相关主管部门) signs or declines a nomination."""

    decision: CoSignDecision
    reason: str | None = Field(None, max_length=2000, description="required to decline")
    co_signed_on: date | None = Field(None, description="default today; not in the future")


class ProductGrowthIn(_In):
    """Newer annual figures of a product recognised before admission."""

    product_id: str = Field(min_length=1, max_length=64)
    figures_year: int = Field(ge=2000, le=2100)
    annual_sales_10k_cny: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    annual_profit_10k_cny: Decimal = Field(max_digits=16, decimal_places=2)
    evidence: str | None = Field(None, max_length=500, description="audit report, tax filing")


class GraduationCreate(_In):
    """The IP office graduates a pool enterprise (出库) on the exit standard's evidence."""

    graduated_on: date | None = Field(None, description="default today; not in the future")
    industrialisation: Industrialisation = Field(description="the rate now")
    product_growth: list[ProductGrowthIn] = Field(default_factory=list, max_length=50)


class RemovalCreate(_In):
    """An officer removes a pool enterprise (退库) outside the automatic grounds."""

    reason: str = Field(min_length=4, max_length=2000, description="why, recorded")
    removed_on: date | None = Field(None, description="default today; not in the future")


class NominationRead(BaseModel):
    id: str
    uscc: str
    enterprise_name: str | None
    province_code: str
    status: str = Field(description="awaiting_co_signature | admitted | declined")
    nominated_on: date
    nominated_by: str
    recommendation: str | None
    industrialisation: dict[str, Any]
    quota_override_reason: str | None
    basis: dict[str, Any] = Field(description="entry rules and quota, each passed or not, with "
                                              "figures and clause")
    co_signing_department: str | None
    co_signed_by: str | None
    co_signed_on: date | None
    decision_reason: str | None
    revision: int
    created_at: datetime
    updated_at: datetime


class MovementRead(BaseModel):
    kind: str
    on: date
    reason: str | None
    basis: dict[str, Any]
    decided_by: str
    revision: int


class PoolEntryRead(BaseModel):
    uscc: str
    enterprise_name: str | None
    province_code: str
    status: str = Field(description="admitted | graduated (接续培育, follow-up cultivation) | "
                                    "removed")
    follow_up_cultivation: bool = Field(description="graduated and served on (接续培育)")
    admitted_on: date
    window_ends_on: date = Field(description="last day of the two-year progress window")
    window_check: str = Field(description="pending | passed")
    window_basis: dict[str, Any] | None = Field(
        description="the two-year check once made: the progress found inside the window")
    days_left_in_window: int | None
    at_risk: bool = Field(description="admitted, no progress yet, window ending soon")
    progress: list[dict[str, Any]] = Field(description="industrialisation progress since "
                                                       "admission, with its source")
    admission_basis: dict[str, Any]
    graduated_on: date | None
    graduation_basis: dict[str, Any] | None
    removed_on: date | None
    removal_reason: str | None
    removal_basis: dict[str, Any] | None
    history: list[MovementRead]
    revision: int


class PoolEntrySummary(BaseModel):
    uscc: str
    enterprise_name: str | None
    province_code: str
    status: str
    admitted_on: date
    window_ends_on: date
    graduated_on: date | None
    removed_on: date | None
    removal_reason: str | None
    revision: int


class PoolList(BaseModel):
    items: list[PoolEntrySummary]
    next_cursor: str | None


class SweepResult(BaseModel):
    as_of: date
    checked: int = Field(description="admitted entries whose window had ended")
    removed: int
    passed: int = Field(description="had progress inside the window: they stay")


class Dashboard(BaseModel):
    """A province's pool at a glance (or every province's)."""

    as_of: date
    province_code: str | None
    provinces: list[dict[str, Any]] = Field(description="per province: counts by status, "
                                                        "quota, removals by reason, at risk")
