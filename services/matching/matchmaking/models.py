"""Matchmaking events (对接活动, roadshows): who organised them, which open licences and demands
were featured, who took part, and what came of each licensee-patent pair."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.matching.db import Base
from shared.db import UTCDateTime


def new_id() -> str:
    return str(uuid.uuid4())


class MatchmakingEvent(Base):
    __tablename__ = "matchmaking_events"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(12),
                                      comment="roadshow | matchmaking | exhibition | online")
    held_on: Mapped[date] = mapped_column(sa.Date, index=True)
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    organiser: Mapped[str] = mapped_column(sa.String(200), comment="organiser's name")
    organiser_department: Mapped[str] = mapped_column(sa.String(20))
    organiser_org: Mapped[str | None] = mapped_column(sa.String(40))
    open_license_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    demand_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MatchmakingParticipant(Base):
    __tablename__ = "matchmaking_participants"
    __table_args__ = (sa.UniqueConstraint("event_id", "uscc", name="once_per_event"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        sa.ForeignKey("matchmaking_events.id", ondelete="CASCADE"), index=True)
    uscc: Mapped[str] = mapped_column(sa.String(18))
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(12), comment="licensee | patentee | other")
    registered_by: Mapped[str] = mapped_column(sa.String(120))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MatchmakingOutcome(Base):
    """The latest outcome of one licensee-patent pair at an event (re-recording moves it on)."""

    __tablename__ = "matchmaking_outcomes"
    __table_args__ = (sa.UniqueConstraint("event_id", "licensee_uscc", "application_no",
                                          name="one_per_pair"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        sa.ForeignKey("matchmaking_events.id", ondelete="CASCADE"), index=True)
    licensee_uscc: Mapped[str] = mapped_column(sa.String(18))
    application_no: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(12),
                                        comment="intention | negotiating | licensed | no_deal")
    license_id: Mapped[str | None] = mapped_column(sa.String(36))
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    recorded_by: Mapped[str] = mapped_column(sa.String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
