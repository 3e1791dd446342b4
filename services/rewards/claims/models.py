"""Reward claims, and the tallies that keep every cap under concurrency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.rewards.db import Base
from shared.db import UTCDateTime

MONEY = sa.Numeric(18, 2)

CLAIM_STATUSES = ("awaiting_facts", "pending_review", "approved", "paid", "rejected", "held",
                  "recovery", "recovered", "recovery_waived")


class RewardClaim(Base):
    """One claim for one item under one rule of one pack.

    ``(pack_id, rule_code, item_ref)`` is unique over every claim ever made: the same item is
    never rewarded twice under a rule, whether the trigger is delivered twice, an enterprise
    files while the event is on its way, or two requests race (the loser gets the existing
    claim, or a 409 naming it).
    """

    __tablename__ = "reward_claims"
    __table_args__ = (
        sa.UniqueConstraint("pack_id", "rule_code", "item_ref", name="uq_reward_claims_item"),
        sa.CheckConstraint("status IN ('" + "', '".join(CLAIM_STATUSES) + "')", name="status"),
        sa.Index("ix_reward_claims_uscc_created_at", "uscc", "created_at"),
        sa.Index("ix_reward_claims_status_department", "status", "department"),
        sa.Index("ix_reward_claims_created_at_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18))
    enterprise_name: Mapped[str | None] = mapped_column(sa.String(200))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    pack_id: Mapped[str] = mapped_column(sa.String(60), comment="pack id (stable across versions)")
    pack_ref: Mapped[str] = mapped_column(sa.String(70), comment="id@vN applied")
    jurisdiction: Mapped[str] = mapped_column(sa.String(10))
    rule_code: Mapped[str] = mapped_column(sa.String(60))
    item_kind: Mapped[str] = mapped_column(sa.String(20))
    item_ref: Mapped[str] = mapped_column(sa.String(120))
    item_date: Mapped[date] = mapped_column(sa.Date)
    item: Mapped[dict[str, Any]] = mapped_column(sa.JSON, comment="the item's facts as decided")
    origin: Mapped[str] = mapped_column(sa.String(10), comment="event | filed")
    trigger_event_id: Mapped[str | None] = mapped_column(sa.String(64))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(20))
    status_before_hold: Mapped[str | None] = mapped_column(sa.String(20))
    requested_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    amount_cny: Mapped[Decimal | None] = mapped_column(MONEY, comment="after every cap")
    reserved: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, default=dict, comment="what this claim holds in each cap tally {key: cny}")
    doubt_flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    department: Mapped[str] = mapped_column(sa.String(40))
    fund_code: Mapped[str] = mapped_column(sa.String(60))
    review_due_on: Mapped[date | None] = mapped_column(sa.Date)
    basis: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    decided_by: Mapped[str | None] = mapped_column(sa.String(120))
    decided_department: Mapped[str | None] = mapped_column(sa.String(40))
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_blocked: Mapped[str | None] = mapped_column(
        sa.String(40), comment="why an approved claim is not paid yet (fund_missing, balance)")
    paid_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    ledger_entry_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    hold_reason: Mapped[str | None] = mapped_column(sa.Text)
    recovery_reason: Mapped[str | None] = mapped_column(sa.Text)
    recovered_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    filed_by: Mapped[str | None] = mapped_column(sa.String(120))
    revision: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimTally(Base):
    """What one organisation has committed under one rule's cap in one period.

    Claims reserve room here, in a fixed key order, by conditional UPDATE on the row (locked on
    PostgreSQL), so two claims racing for the last room of a cap cannot both get it; the
    ``CHECK`` keeps the database itself from ever holding an over-committed tally.
    """

    __tablename__ = "reward_tallies"
    __table_args__ = (
        sa.CheckConstraint("committed_cny >= 0 AND items >= 0", name="not_negative"),
        sa.CheckConstraint("cap_cny IS NULL OR committed_cny <= cap_cny", name="within_cap"),
        sa.CheckConstraint("max_items IS NULL OR items <= max_items", name="within_items"),
    )

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True,
                                     comment="pack_id|rule|uscc|period (all or a year)")
    cap_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    max_items: Mapped[int | None] = mapped_column(sa.Integer)
    committed_cny: Mapped[Decimal] = mapped_column(MONEY)
    items: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
