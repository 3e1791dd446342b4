"""The model-enterprise cultivation pool (专利产业化样板企业培育库): entries, nominations, and the
log of every admission, graduation and removal with its basis."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import UTCDateTime

ENTRY_STATUSES = ("admitted", "graduated", "removed")
NOMINATION_STATUSES = ("awaiting_co_signature", "admitted", "declined")


class PoolEntry(Base):
    """An enterprise's standing in the pool: one row per enterprise, its revision counting every
    movement (consumers keep the newest), re-admission after a removal reusing the row."""

    __tablename__ = "pool_entries"
    __table_args__ = (
        sa.CheckConstraint("status IN ('admitted', 'graduated', 'removed')", name="status"),
        sa.Index("ix_pool_entries_province_status", "province_code", "status"),
    )

    uscc: Mapped[str] = mapped_column(sa.ForeignKey("enterprises.uscc"), primary_key=True)
    province_code: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(10))
    nomination_id: Mapped[str] = mapped_column(sa.String(36), comment="the admitting nomination")
    admitted_on: Mapped[date] = mapped_column(sa.Date)
    window_ends_on: Mapped[date] = mapped_column(
        sa.Date, comment="last day of the two-year progress window (Civil Code counting)")
    window_check: Mapped[str] = mapped_column(
        sa.String(10), comment="pending | passed: whether the two-year rule was checked")
    window_basis: Mapped[dict[str, Any] | None] = mapped_column(
        sa.JSON, comment="the two-year check once made: progress found inside the window")
    baseline_patents_held: Mapped[int] = mapped_column(sa.Integer)
    baseline_patents_industrialised: Mapped[int] = mapped_column(sa.Integer)
    admission_basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    quota_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    graduated_on: Mapped[date | None] = mapped_column(sa.Date)
    graduation_basis: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    removed_on: Mapped[date | None] = mapped_column(sa.Date)
    removal_reason: Mapped[str | None] = mapped_column(sa.String(40))
    removal_basis: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    revision: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolNomination(Base):
    """A provincial IP office's nomination (推荐入库), with its entry and quota basis; admitted at
    once, or after the co-signing department (MIIT in the national pack) signs."""

    __tablename__ = "pool_nominations"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('awaiting_co_signature', 'admitted', 'declined')",
            name="status"),
        # One open nomination per enterprise: a second one while the first awaits is a 409.
        sa.Index("uq_pool_nominations_open", "uscc", unique=True,
                 postgresql_where=sa.text("status = 'awaiting_co_signature'"),
                 sqlite_where=sa.text("status = 'awaiting_co_signature'")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.ForeignKey("enterprises.uscc"), index=True)
    province_code: Mapped[str] = mapped_column(sa.String(2), index=True)
    status: Mapped[str] = mapped_column(sa.String(24))
    nominated_on: Mapped[date] = mapped_column(sa.Date)
    nominated_by: Mapped[str] = mapped_column(sa.String(120))
    recommendation: Mapped[str | None] = mapped_column(sa.Text, comment="推荐意见")
    patents_held: Mapped[int] = mapped_column(sa.Integer, comment="有效专利 at nomination")
    patents_industrialised: Mapped[int] = mapped_column(sa.Integer,
                                                        comment="已产业化专利 at nomination")
    industrialisation_evidence: Mapped[str | None] = mapped_column(sa.String(500))
    quota_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON, comment="entry and quota rules")
    co_signing_department: Mapped[str | None] = mapped_column(sa.String(30))
    co_signed_by: Mapped[str | None] = mapped_column(sa.String(120))
    co_signed_on: Mapped[date | None] = mapped_column(sa.Date)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolMovement(Base):
    """One admission, graduation or removal, as decided: the log quotas, dashboards and the
    annual figures count from, and the history an officer reads."""

    __tablename__ = "pool_movements"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('admitted', 'graduated', 'removed')", name="kind"),
        sa.Index("ix_pool_movements_province_kind", "province_code", "kind"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(sa.ForeignKey("enterprises.uscc"), index=True)
    province_code: Mapped[str] = mapped_column(sa.String(2))
    kind: Mapped[str] = mapped_column(sa.String(10))
    on: Mapped[date] = mapped_column("on_date", sa.Date)
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    decided_by: Mapped[str] = mapped_column(sa.String(120))
    revision: Mapped[int] = mapped_column(sa.Integer, comment="the entry revision it made")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolProvince(Base):
    """A lock row per province: admissions take it (FOR UPDATE) so two co-signatures cannot
    both take the last place. Counts are never stored here; they come from the movements."""

    __tablename__ = "pool_provinces"

    province_code: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime())
