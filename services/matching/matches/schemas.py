"""Request and response bodies of matching results and pushes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


class Component(BaseModel):
    """One part of a score: the part's own score, its weight in the blend, what it added, why."""

    score: float = Field(ge=0, le=1)
    weight: float = Field(ge=0, le=1)
    contribution: float
    detail: str


class Patentee(BaseModel):
    uscc: str | None
    name: str
    type: str = Field(description="university | research_institute | enterprise | individual | other")


class Fee(BaseModel):
    payment_method: str
    lump_sum_cny: str | None
    entry_fee_cny: str | None
    royalty_rate: str | None
    royalty_base: str | None


class Term(BaseModel):
    starts_on: date
    ends_on: date


class MatchResult(BaseModel):
    rank: int
    open_license_id: str
    application_no: str
    title: str
    ipc_codes: list[str]
    patentee: Patentee
    region_code: str | None
    fee: Fee
    term: Term
    score: float = Field(description="the weighted blend of the components, 0–1")
    components: dict[str, Component] = Field(
        description="text (BM25 over title, abstract, claims …), ipc, budget, region, industry, "
                    "stock (university / institute stock patents, 存量专利盘活)")


class IndexState(BaseModel):
    documents: int
    refreshed_at: datetime | None


class DemandMatches(BaseModel):
    demand_id: str
    title: str
    results: list[MatchResult]
    index: IndexState


class SearchResults(BaseModel):
    query: str
    results: list[MatchResult]
    index: IndexState


class CandidateRead(BaseModel):
    uscc: str
    name: str | None
    score: float
    components: dict[str, Component]
    reason: Literal["demand", "profile"]
    demand_id: str | None
    pool_member: bool = Field(description="in the cultivation pool (样板企业培育库): listed first")
    already_pushed: bool


class Candidates(BaseModel):
    open_license_id: str
    application_no: str
    candidates: list[CandidateRead]


class PushCreate(BaseModel):
    """Push now (an officer): one patent to its best enterprises, or the best patents to one
    enterprise."""

    open_license_id: str | None = Field(None, min_length=36, max_length=36)
    uscc: str | None = Field(None, min_length=18, max_length=18)
    limit: int | None = Field(None, ge=1, le=200, description="default: the pack's top_n")

    @model_validator(mode="after")
    def _one(self) -> "PushCreate":
        if (self.open_license_id is None) == (self.uscc is None):
            raise ValueError("give exactly one of open_license_id and uscc")
        return self


class PushOutcome(BaseModel):
    pushed: list[str]
    already_pushed: list[str]


class PushRead(BaseModel):
    id: str
    uscc: str
    enterprise_name: str | None
    open_license_id: str
    application_no: str
    title: str
    score: float
    components: dict[str, Any]
    reason: str
    demand_id: str | None
    pool_member: bool
    pushed_by: str
    pushed_at: datetime


class PushPage(BaseModel):
    items: list[PushRead]
    next_cursor: str | None


class IndexStats(BaseModel):
    ready: bool
    documents: int
    built_at: datetime | None
    refreshed_at: datetime | None
    build_seconds: float | None
    builds: int
    last_build: dict[str, int] = Field(description="documents, tokenised now, from the token "
                                                   "cache")
    engine: dict[str, Any]
    pending_push_requests: int = Field(description="push work queued for the index task")
    done_push_requests: int = Field(description="push work done (all replicas)")
