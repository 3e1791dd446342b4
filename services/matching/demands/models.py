"""Technology demands (技术需求库): what an enterprise is looking for, in its own Chinese words,
with IPC hints, industry, region, budget and deadline. The matching engine reads open ones;
``changed_at`` moves on every change (the index polls it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.matching.db import Base
from shared.db import UTCDateTime


def new_id() -> str:
    return str(uuid.uuid4())


class Demand(Base):
    __tablename__ = "demands"
    __table_args__ = (sa.Index("ix_demands_posted", "posted_at", "id"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True, comment="the demanding enterprise")
    enterprise_name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    technical_field: Mapped[str | None] = mapped_column(sa.String(500))
    ipc_hints: Mapped[list[str]] = mapped_column(
        sa.JSON, default=list, comment="normalised IPC symbols or prefixes (H01M, H01M 10/0525)")
    industry_code: Mapped[str | None] = mapped_column(sa.String(5), comment="GB/T 4754-2017")
    region_code: Mapped[str | None] = mapped_column(sa.String(6), comment="GB/T 2260")
    budget_min_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    budget_max_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    deadline: Mapped[date | None] = mapped_column(sa.Date, index=True)
    status: Mapped[str] = mapped_column(sa.String(8), index=True, comment="open | closed")
    close_reason: Mapped[str | None] = mapped_column(
        sa.String(12), comment="fulfilled | withdrawn | expired | other")
    close_note: Mapped[str | None] = mapped_column(sa.String(1000))
    posted_by: Mapped[str] = mapped_column(sa.String(120))
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
