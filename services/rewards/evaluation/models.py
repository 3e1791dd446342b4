"""The annual performance evaluation's own projections (绩效评价): what happened when, as events
of all four services announced it.

Unlike the fact tables the claims read (the latest state of each thing), these keep history: a
pool movement per registry revision, a patent state per registry revision with the day it took
effect, a loan's milestones (decision, disbursement), each pledge and licence. Rows are keyed by
the producer's identity of the change (revision, loan / pledge / licence id), so a redelivered
or replayed event changes nothing. Regions are stored as the event gave them; where an event
names only an enterprise, the region is resolved when the evaluation is computed, through the
enterprise projection (``services/rewards/db.py``), which may arrive later than the fact.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.rewards.db import Base
from shared.db import UTCDateTime

MONEY = sa.Numeric(18, 2)


class EvaluationPoolMovement(Base):
    """One admission (入库), graduation (出库) or removal (退库) of the cultivation pool."""

    __tablename__ = "evaluation_pool_movements"
    __table_args__ = (
        sa.CheckConstraint("movement IN ('admitted', 'graduated', 'removed')", name="movement"),
        sa.Index("ix_evaluation_pool_movements_moved_on", "moved_on"),
    )

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    revision: Mapped[int] = mapped_column(sa.Integer, primary_key=True,
                                          comment="registry's pool revision of the enterprise")
    movement: Mapped[str] = mapped_column(sa.String(10))
    moved_on: Mapped[date] = mapped_column(sa.Date, comment="admitted_on / graduated_on / "
                                                            "removed_on of the event")
    province_code: Mapped[str] = mapped_column(sa.String(2))
    reason: Mapped[str | None] = mapped_column(sa.String(60), comment="removals: why")
    event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EvaluationPatentState(Base):
    """A patent's state as one registry revision announced it, from the day it took effect."""

    __tablename__ = "evaluation_patent_states"
    __table_args__ = (
        sa.Index("ix_evaluation_patent_states_effective_on", "effective_on"),
        sa.Index("ix_evaluation_patent_states_owner_uscc", "owner_uscc"),
    )

    application_no: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    revision: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    event_type: Mapped[str] = mapped_column(sa.String(40))
    effective_on: Mapped[date] = mapped_column(
        sa.Date, comment="status change: changed_on; registration / update: its day in China")
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(12))
    in_force: Mapped[bool] = mapped_column(sa.Boolean)
    high_value: Mapped[bool] = mapped_column(sa.Boolean)
    owner_uscc: Mapped[str | None] = mapped_column(sa.String(18), comment="first owner with a "
                                                                          "USCC")
    owner_region_code: Mapped[str | None] = mapped_column(
        sa.String(6), comment="as the event or the enterprise projection gave it at receipt; "
                              "null: resolved through the projection when evaluated")
    event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EvaluationLoan(Base):
    """A pledge loan's milestones: application, decision (green-channel deadline), disbursement.

    Each milestone is written by its own event type, so milestones arriving in any order all
    land; the shared fields follow the newest financing revision seen.
    """

    __tablename__ = "evaluation_loans"
    __table_args__ = (
        sa.Index("ix_evaluation_loans_disbursed_on", "disbursed_on"),
        sa.Index("ix_evaluation_loans_decided_on", "decided_on"),
    )

    loan_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    borrower_uscc: Mapped[str] = mapped_column(sa.String(18))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    applied_on: Mapped[date] = mapped_column(sa.Date)
    green_channel: Mapped[bool] = mapped_column(sa.Boolean)
    decision_deadline: Mapped[date | None] = mapped_column(sa.Date)
    decision: Mapped[str | None] = mapped_column(sa.String(10), comment="approved | rejected")
    decided_on: Mapped[date | None] = mapped_column(sa.Date)
    decision_late: Mapped[bool | None] = mapped_column(sa.Boolean, comment="as financing said")
    disbursed_on: Mapped[date | None] = mapped_column(sa.Date)
    disbursed_amount_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    revision: Mapped[int] = mapped_column(sa.Integer, comment="newest financing revision seen")
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EvaluationPledge(Base):
    """A registered patent pledge (专利权质押登记)."""

    __tablename__ = "evaluation_pledges"
    __table_args__ = (sa.Index("ix_evaluation_pledges_registered_on", "registered_on"),)

    pledge_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    loan_id: Mapped[str] = mapped_column(sa.String(36))
    application_no: Mapped[str] = mapped_column(sa.String(20))
    pledgor_uscc: Mapped[str] = mapped_column(sa.String(18))
    registered_on: Mapped[date] = mapped_column(sa.Date)
    secured_amount_cny: Mapped[Decimal] = mapped_column(MONEY)
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EvaluationLicence(Base):
    """A granted patent licence (the event has no revision: the licence id is its identity)."""

    __tablename__ = "evaluation_licences"
    __table_args__ = (sa.Index("ix_evaluation_licences_starts_on", "starts_on"),)

    license_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    license_type: Mapped[str] = mapped_column(sa.String(10),
                                              comment="open | exclusive | sole | ordinary")
    application_no: Mapped[str] = mapped_column(sa.String(20))
    licensor_uscc: Mapped[str | None] = mapped_column(sa.String(18))
    licensee_uscc: Mapped[str | None] = mapped_column(sa.String(18))
    licensee_region_code: Mapped[str | None] = mapped_column(
        sa.String(6), comment="as the event gave it; null: resolved through the enterprise "
                              "projection when evaluated")
    starts_on: Mapped[date] = mapped_column(sa.Date)
    granted_on: Mapped[date] = mapped_column(sa.Date, comment="granted_at, its day in China")
    event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())
