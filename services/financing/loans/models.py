"""Pledge loans (专利权质押贷款), their patent pledges and the banks' dedicated pool quotas."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.financing.db import Base
from shared.db import UTCDateTime

MONEY = sa.Numeric(18, 2)

#: Pledge statuses that hold the patent: a patent is in at most one such row (the unique index
#: below), so two concurrent applications cannot both pledge it — the loser's insert fails.
ACTIVE_PLEDGE_STATUSES = ("applied", "approved", "registered")
_ACTIVE_PLEDGE = sa.text("status IN ('applied', 'approved', 'registered')")


class Loan(Base):
    __tablename__ = "loans"
    __table_args__ = (
        # Lists: a bank's loans by status and date; the green-channel overdue scan.
        sa.Index("ix_loans_bank_code_status", "bank_code", "status"),
        sa.Index("ix_loans_decision_deadline", "decision_deadline",
                 postgresql_where=sa.text("decision_deadline IS NOT NULL"),
                 sqlite_where=sa.text("decision_deadline IS NOT NULL")),
        sa.Index("ix_loans_quota", "bank_code", "quota_year",
                 postgresql_where=sa.text("quota_year IS NOT NULL"),
                 sqlite_where=sa.text("quota_year IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    borrower_uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    borrower_name: Mapped[str] = mapped_column(sa.String(200))
    bank_code: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    requested_amount_cny: Mapped[Decimal] = mapped_column(MONEY)
    term_months: Mapped[int] = mapped_column(sa.Integer, comment="requested term")
    purpose: Mapped[str] = mapped_column(sa.Text)
    applied_on: Mapped[date] = mapped_column(sa.Date, comment="application date (China)")
    applied_by: Mapped[str] = mapped_column(sa.String(120))
    # The borrower at application time (statistics by region and tier).
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    tier_code: Mapped[str | None] = mapped_column(sa.String(30),
                                                  comment="whitelist tier at application")
    pool_member: Mapped[bool] = mapped_column(sa.Boolean, comment="in the pool at application")
    pack: Mapped[str] = mapped_column(sa.String(60), comment="loans pack applied (id@vN)")
    application_basis: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, comment="eligibility checks of every pledged patent")
    # Green channel (绿色通道 / 快评快贷).
    green_channel: Mapped[bool] = mapped_column(sa.Boolean)
    decision_deadline: Mapped[date | None] = mapped_column(sa.Date)
    green_channel_basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    green_channel_breached_on: Mapped[date | None] = mapped_column(
        sa.Date, comment="first day the periodic check found it undecided past the deadline")
    decision_late: Mapped[bool | None] = mapped_column(sa.Boolean)
    # The decision.
    decision: Mapped[str | None] = mapped_column(sa.String(10), comment="approve | reject")
    decided_on: Mapped[date | None] = mapped_column(sa.Date, index=True)  # stats by month
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(sa.String(120))
    decision_basis: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    approved_amount_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    interest_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6),
                                                          comment="annual, as a fraction")
    approved_term_months: Mapped[int | None] = mapped_column(sa.Integer)
    quota_year: Mapped[int | None] = mapped_column(sa.Integer)
    quota_counted_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    # After approval.
    disbursed_amount_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    disbursed_on: Mapped[date | None] = mapped_column(sa.Date, index=True)  # stats by month
    maturity_on: Mapped[date | None] = mapped_column(sa.Date)
    outstanding_principal_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    repaid_on: Mapped[date | None] = mapped_column(sa.Date)
    overdue_since: Mapped[date | None] = mapped_column(sa.Date)
    defaulted_on: Mapped[date | None] = mapped_column(sa.Date)
    principal_loss_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    compensation_claim_id: Mapped[str | None] = mapped_column(sa.String(36))
    compensated_amount_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    close_reason: Mapped[str | None] = mapped_column(sa.String(20))
    history: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON, comment="every transition: action, from, to, by, at")
    revision: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    pledges: Mapped[list["Pledge"]] = relationship(
        back_populates="loan", lazy="raise", order_by="Pledge.position")

    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}


class Pledge(Base):
    """One patent pledged for a loan (专利权质押); active from the application until released."""

    __tablename__ = "pledges"
    __table_args__ = (
        sa.Index("uq_pledges_active_application_no", "application_no", unique=True,
                 postgresql_where=_ACTIVE_PLEDGE, sqlite_where=_ACTIVE_PLEDGE),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    loan_id: Mapped[str] = mapped_column(sa.ForeignKey("loans.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, comment="order in the application")
    application_no: Mapped[str] = mapped_column(sa.String(20), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    pledgor_uscc: Mapped[str] = mapped_column(sa.String(18))
    pledgee_bank_code: Mapped[str] = mapped_column(sa.String(40))
    pledgee_name: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(12),
                                        comment="applied | approved | registered | released")
    registration_no: Mapped[str | None] = mapped_column(sa.String(64),
                                                        comment="CNIPA 质押登记号")
    registered_on: Mapped[date | None] = mapped_column(sa.Date)
    secured_amount_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    pledgee_consent_to_open_licence: Mapped[bool | None] = mapped_column(
        sa.Boolean, comment="the bank consents to open-licence declarations (Rule 86)")
    valuation_id: Mapped[str | None] = mapped_column(sa.String(36))
    valuation_value_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    pledge_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 4))
    released_on: Mapped[date | None] = mapped_column(sa.Date)
    release_reason: Mapped[str | None] = mapped_column(sa.String(20))
    revision: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    loan: Mapped[Loan] = relationship(back_populates="pledges", lazy="raise")


class BankQuota(Base):
    """A bank's dedicated annual credit quota for cultivation-pool enterprises (单列信贷额度)."""

    __tablename__ = "bank_quotas"
    __table_args__ = (
        # Usage only grows by a conditional UPDATE (``used + x <= quota``); this keeps the
        # database itself from ever holding an overspent quota.
        sa.CheckConstraint("used_cny <= quota_cny", name="used_within_quota"),
        sa.CheckConstraint("used_cny >= 0", name="used_not_negative"),
    )

    bank_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    quota_cny: Mapped[Decimal] = mapped_column(MONEY)
    used_cny: Mapped[Decimal] = mapped_column(MONEY)
    note: Mapped[str | None] = mapped_column(sa.Text)
    set_by: Mapped[str] = mapped_column(sa.String(120))
    revision: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
