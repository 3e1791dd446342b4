"""HTTP for matchmaking events (对接活动, roadshows): parse, call the service, shape."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from services.matching.matchmaking import service
from services.matching.matchmaking.schemas import (UUID_PATTERN, MatchmakingEventCreate,
                                                   MatchmakingEventPage, MatchmakingEventRead,
                                                   OutcomeCreate, OutcomeRead, ParticipantCreate,
                                                   ParticipantRead)
from shared.app import DbSession
from shared.auth import Caller, Principal, require

router = APIRouter(tags=["matchmaking"])

CanOrganise = Annotated[Principal, Depends(require(scopes=("matchmaking:write",)))]
EVENT_ID = Annotated[str, Path(pattern=UUID_PATTERN, description="Event id (UUID)")]


async def _read(session, row, caller: Principal | None = None) -> MatchmakingEventRead:
    participants, outcomes = await service.counts(session, [row.id])
    extra = await service.details(session, row, caller) if caller is not None else None
    return MatchmakingEventRead(**service.read_model(row, participants.get(row.id, 0),
                                                     outcomes.get(row.id, {}), extra))


@router.post("/matchmaking-events", status_code=201, response_model=MatchmakingEventRead,
             summary="Create a matchmaking event or roadshow (the caller organises it)",
             responses={422: {"description": "A featured open licence is not published or a "
                                             "demand is unknown (index named)"}})
async def create_event(body: MatchmakingEventCreate, session: DbSession,
                       caller: CanOrganise) -> MatchmakingEventRead:
    """market_regulation, miit and science_tech (matchmaking:write)."""
    return await _read(session, await service.create(session, body, caller))


@router.get("/matchmaking-events", response_model=MatchmakingEventPage,
            summary="List events, newest first, with participant and outcome counts")
async def list_events(
    session: DbSession, caller: Caller,
    kind: Annotated[Literal["roadshow", "matchmaking", "exhibition", "online"] | None,
                    Query()] = None,
    region_code: Annotated[str | None, Query(max_length=6, description="prefix, e.g. 14")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MatchmakingEventPage:
    rows, next_cursor = await service.search(session, kind=kind, region_code=region_code,
                                             cursor=cursor, limit=limit)
    participants, outcomes = await service.counts(session, [r.id for r in rows])
    return MatchmakingEventPage(
        items=[MatchmakingEventRead(**service.read_model(r, participants.get(r.id, 0),
                                                         outcomes.get(r.id, {})))
               for r in rows], next_cursor=next_cursor)


@router.get("/matchmaking-events/{event_id}", response_model=MatchmakingEventRead,
            summary="One event with its participants and outcomes")
async def read_event(event_id: EVENT_ID, session: DbSession, caller: Caller
                     ) -> MatchmakingEventRead:
    """Counts for everyone; the participant list and outcomes in full for the organiser,
    market_regulation and the auditor, and for a party only its own."""
    return await _read(session, await service.get_or_404(session, event_id), caller)


@router.post("/matchmaking-events/{event_id}/participants", status_code=201,
             response_model=ParticipantRead,
             summary="Register for an event (an enterprise itself, or the organiser for others)",
             responses={403: {"description": "Neither the organiser nor the enterprise itself"},
                        409: {"description": "Already registered"}})
async def register(event_id: EVENT_ID, body: ParticipantCreate, session: DbSession,
                   caller: Caller) -> ParticipantRead:
    event = await service.get_or_404(session, event_id)
    row = await service.register(session, event, body, caller)
    return ParticipantRead(uscc=row.uscc, name=row.name, role=row.role,
                           registered_by=row.registered_by, registered_at=row.registered_at)


@router.post("/matchmaking-events/{event_id}/outcomes", status_code=201,
             response_model=OutcomeRead,
             summary="Record the outcome of a licensee-patent pair (the organiser)",
             responses={403: {"description": "Not the organiser"},
                        422: {"description": "Licensee not registered, or a licensed outcome "
                                             "without a matching licence"}})
async def record_outcome(event_id: EVENT_ID, body: OutcomeCreate, session: DbSession,
                         caller: Caller) -> OutcomeRead:
    """intention | negotiating | licensed (with the licence granted) | no_deal; recording a
    pair again replaces its outcome."""
    event = await service.get_or_404(session, event_id)
    row = await service.record_outcome(session, event, body, caller)
    return OutcomeRead(licensee_uscc=row.licensee_uscc, application_no=row.application_no,
                       status=row.status, license_id=row.license_id, note=row.note,
                       recorded_by=row.recorded_by, recorded_at=row.recorded_at)
