"""Whitelist API models (the same content as the events on ``financing.whitelist.v1``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field



class Valuation(BaseModel):
    valuation_id: str
    value_cny: str = Field(description="CNY yuan, 2 decimals")
    low_cny: str | None = None
    high_cny: str | None = None
    method: str | None = None
    valued_on: date | None = None
    valid_until: date | None = None


class PledgeablePatent(BaseModel):
    application_no: str = Field(description="申请号")
    patent_no: str | None = Field(None, description="专利号 (ZL…)")
    kind: str = Field(description="invention | utility_model | pct_*")
    title: str
    high_value: bool = Field(description="high-value invention patent (RULES §5)")
    co_owned: bool = Field(description="co-owned; every co-owner has consented to pledge it")
    term_ends_on: date | None = None
    valuation: Valuation | None = Field(None, description="latest completed valuation")


class Tier(BaseModel):
    code: str = Field(description="cultivation_pool | quality_private | little_giant_or_srdi "
                                  "| high_tech | eligible (pack-defined)")
    rank: int = Field(description="1 is the highest priority")
    name_zh: str
    name_en: str | None = None
    reason: str
    evidence: dict[str, Any] | None = None
    clause: dict[str, Any]


class WhitelistEntryRead(BaseModel):
    """An enterprise's whitelist standing with its basis (also when it is not listed)."""

    uscc: str
    name: str | None
    region_code: str | None
    province_code: str | None
    industry_code: str | None
    size_class: str | None
    listed: bool
    tier: Tier | None
    pledgeable_patents: list[PledgeablePatent]
    basis: dict[str, Any] = Field(description="every rule with pass/fail, figures and clause; "
                                              "the pack; the trigger (cause)")
    pack: str = Field(description="policy pack that decided (id@vN)")
    revision: int = Field(description="published changes of this entry (0: never listed)")
    listed_since: date | None
    evaluated_at: datetime
    changed_at: datetime | None


class WhitelistPage(BaseModel):
    items: list[WhitelistEntryRead]
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page")


class WhitelistChangeRead(BaseModel):
    revision: int
    change: str = Field(description="added | updated | removed")
    event_id: str = Field(description="CloudEvents id of the published event")
    tier_code: str | None
    basis: dict[str, Any]
    cause: str
    changed_at: datetime


class WhitelistHistory(BaseModel):
    uscc: str
    items: list[WhitelistChangeRead]


class ReevaluationRequest(BaseModel):
    usccs: list[str] = Field(min_length=1, max_length=1000,
                             description="enterprises to re-evaluate now")


class ReevaluationResult(BaseModel):
    evaluated: int
    published: list[str] = Field(description="event types published, in order")
