"""Pushes (精准推送) and the push queue.

A push is one open-licence patent sent to one enterprise, with the score components that explain
it; ``(uscc, application_no)`` is unique, so an enterprise is never pushed the same patent twice
(whatever triggered it: publication, pool admission, an officer). Work that needs the in-memory
index (which every replica builds for itself) is queued in ``push_requests`` by the event
handler and done by the index task after its next refresh, so a handler never waits for an
index and a request survives a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.matching.db import Base
from shared.db import UTCDateTime


class Push(Base):
    __tablename__ = "pushes"
    __table_args__ = (sa.UniqueConstraint("uscc", "application_no", name="once_per_patent"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True,
                                      comment="the enterprise pushed to")
    enterprise_name: Mapped[str | None] = mapped_column(sa.String(200))
    open_license_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    application_no: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(500))
    score: Mapped[float] = mapped_column(sa.Float)
    components: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(20),
                                        comment="demand | profile | pool_admission | officer")
    demand_id: Mapped[str | None] = mapped_column(sa.String(36))
    pool_member: Mapped[bool] = mapped_column(sa.Boolean)
    pushed_by: Mapped[str] = mapped_column(sa.String(120))
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PushRequest(Base):
    """Queued push work: ``open_license_id`` (push this patent to its best enterprises) or
    ``uscc`` (push the best patents to this enterprise, e.g. on pool admission)."""

    __tablename__ = "push_requests"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    open_license_id: Mapped[str | None] = mapped_column(sa.String(36))
    uscc: Mapped[str | None] = mapped_column(sa.String(18))
    reason: Mapped[str] = mapped_column(sa.String(20))
    requested_by: Mapped[str] = mapped_column(sa.String(120))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0,
                                          comment="tries so far (the index lagging, or errors)")
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class IndexTokens(Base):
    """The tokens of one declaration as the index reads them, so a process starting over a large
    table does not run jieba over every declaration again (about 1,600 per second). A row counts
    only for the declaration's revision and the tokenizer version that wrote it."""

    __tablename__ = "index_tokens"

    open_license_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(sa.Integer)
    tokenizer_version: Mapped[str] = mapped_column(sa.String(64))
    tokens: Mapped[list[str]] = mapped_column(sa.JSON)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
