"""Rewards's projections of other services' facts: what eligibility, doubt flags, holds and
clawbacks read. Rows arrive only through events; each keeps the producer's revision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.rewards.db import Base
from shared.db import UTCDateTime


class RewardCreditFlag(Base):
    __tablename__ = "credit_flag_facts"
    __table_args__ = (sa.Index("ix_credit_flag_facts_uscc", "uscc"),)

    flag_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18))
    kind: Mapped[str] = mapped_column(sa.String(40))
    active: Mapped[bool] = mapped_column(sa.Boolean)
    flagged_on: Mapped[date | None] = mapped_column(sa.Date)
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RewardQualification(Base):
    __tablename__ = "qualification_facts"
    __table_args__ = (sa.Index("ix_qualification_facts_uscc", "uscc"),)

    qualification_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18))
    kind: Mapped[str] = mapped_column(sa.String(40))
    level: Mapped[str | None] = mapped_column(sa.String(20))
    valid_from: Mapped[date | None] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    active: Mapped[bool] = mapped_column(sa.Boolean)
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RewardPoolMember(Base):
    __tablename__ = "pool_facts"

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(12), comment="admitted | graduated | removed")
    admitted_on: Mapped[date | None] = mapped_column(sa.Date)
    changed_on: Mapped[date | None] = mapped_column(sa.Date)
    reason: Mapped[str | None] = mapped_column(sa.String(60))
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RewardItem(Base):
    """Every event that could trigger a rule, as the item it announces (product, trademark,
    qualification, licence, graduation, patent grant): a filed claim is checked against it."""

    __tablename__ = "item_facts"
    __table_args__ = (sa.Index("ix_item_facts_uscc", "uscc"),)

    item_kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    item_ref: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), comment="the party a reward would go to")
    event_type: Mapped[str] = mapped_column(sa.String(60))
    item_date: Mapped[date | None] = mapped_column(sa.Date)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, comment="the event's payload")
    revision: Mapped[int | None] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())
