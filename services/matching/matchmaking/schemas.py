"""Request and response bodies for matchmaking events (对接活动, roadshows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
OutcomeStatus = Literal["intention", "negotiating", "licensed", "no_deal"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MatchmakingEventCreate(_In):
    title: str = Field(min_length=2, max_length=200, examples=["大同市高校专利开放许可路演"])
    kind: Literal["roadshow", "matchmaking", "exhibition", "online"]
    date: date
    region_code: str | None = Field(None, max_length=6, description="GB/T 2260")
    organiser: str = Field(min_length=1, max_length=200, description="organiser's name")
    open_license_ids: list[str] = Field(default_factory=list, max_length=200,
                                        description="published open licences featured")
    demand_ids: list[str] = Field(default_factory=list, max_length=200,
                                  description="demands featured")


class ParticipantCreate(_In):
    """An enterprise registers itself (no body fields needed); the organiser registers others."""

    uscc: str | None = Field(None, min_length=18, max_length=18)
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="required when matching does not know the uscc")
    role: Literal["licensee", "patentee", "other"] = "licensee"


class OutcomeCreate(_In):
    """The outcome of one licensee-patent pair; recording again moves the pair on."""

    licensee_uscc: str = Field(min_length=18, max_length=18)
    application_no: str = Field(min_length=8, max_length=40)
    status: OutcomeStatus
    license_id: str | None = Field(None, pattern=UUID_PATTERN,
                                   description="required for licensed: the licence granted")
    note: str | None = Field(None, max_length=1000)


class ParticipantRead(BaseModel):
    uscc: str
    name: str
    role: str
    registered_by: str
    registered_at: datetime


class OutcomeRead(BaseModel):
    licensee_uscc: str
    application_no: str
    status: OutcomeStatus
    license_id: str | None
    note: str | None
    recorded_by: str
    recorded_at: datetime


class MatchmakingEventRead(BaseModel):
    id: str
    title: str
    kind: str
    date: date
    region_code: str | None
    organiser: str
    organiser_department: str
    organiser_org: str | None
    open_license_ids: list[str]
    demand_ids: list[str]
    participants_count: int
    outcome_counts: dict[str, int] = Field(description="pairs per outcome status")
    participants: list[ParticipantRead] | None = Field(None, description="one event only")
    outcomes: list[OutcomeRead] | None = Field(None, description="one event only")
    created_by: str
    created_at: datetime
    changed_at: datetime


class MatchmakingEventPage(BaseModel):
    items: list[MatchmakingEventRead]
    next_cursor: str | None
