"""Patent valuations (专利评估, GB/T 42748-2023 approach), banks' internal valuations beside them
(银行内部评估试点), and the licence comparables the market approach draws on."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.financing.db import Base
from shared.db import UTCDateTime

MONEY = sa.Numeric(18, 2)


class Valuation(Base):
    """One completed valuation. Immutable once made; ``revision`` moves only when a bank records
    its own assessment beside it (the read model changed)."""

    __tablename__ = "valuations"
    __table_args__ = (
        # latest_for(): newest by valuation date, then creation time, per patent.
        sa.Index("ix_valuations_latest", "application_no", "valuation_date", "created_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    application_no: Mapped[str] = mapped_column(sa.String(20))
    patent_kind: Mapped[str] = mapped_column(sa.String(20))
    owner_usccs: Mapped[list[str]] = mapped_column(
        sa.JSON, comment="USCCs of the patent's owners when valued (readers, event key)")
    purpose: Mapped[str] = mapped_column(
        sa.String(20), comment="pledge_financing | licensing | transfer | other")
    valuation_date: Mapped[date] = mapped_column(sa.Date, comment="评估基准日")
    value_cny: Mapped[Decimal] = mapped_column(MONEY)
    low_cny: Mapped[Decimal] = mapped_column(MONEY)
    high_cny: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(
        sa.String(120),
        comment="method codes joined by '+', e.g. income_profit_split+cost_obsolescence")
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    pack: Mapped[str] = mapped_column(sa.String(60), comment="policy pack id@version applied")
    inputs_hash: Mapped[str] = mapped_column(sa.String(64), index=True,
                                             comment="sha256 of every input the result depends on")
    result: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, comment="methods, combination, indicators, assumptions, inputs, comparables")
    requested_by: Mapped[str] = mapped_column(sa.String(120))
    requester_department: Mapped[str] = mapped_column(sa.String(30))
    requester_org: Mapped[str | None] = mapped_column(sa.String(40))
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BankAssessment(Base):
    """A bank's own internal valuation recorded beside ours (one per bank per valuation)."""

    __tablename__ = "valuation_bank_assessments"
    __table_args__ = (sa.UniqueConstraint("valuation_id", "bank_code"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    valuation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("valuations.id", ondelete="CASCADE"), index=True)
    bank_code: Mapped[str] = mapped_column(sa.String(40), comment="the bank's org claim")
    value_cny: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(sa.String(20))
    valued_on: Mapped[date] = mapped_column(sa.Date)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LicenseComparable(Base):
    """A priced licence from matching's ``license.granted`` (free licences are never stored)."""

    __tablename__ = "valuation_license_comparables"
    __table_args__ = (
        sa.Index("ix_valuation_license_comparables_pick", "ipc_subclass", "granted_on"),
    )

    license_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    application_no: Mapped[str] = mapped_column(sa.String(20))
    patent_kind: Mapped[str | None] = mapped_column(sa.String(20))
    ipc_subclass: Mapped[str | None] = mapped_column(
        sa.String(4), comment="subclass (first 4 chars) of the licensed patent's main IPC code")
    ipc_codes: Mapped[list[str]] = mapped_column(sa.JSON)
    license_type: Mapped[str] = mapped_column(sa.String(12),
                                              comment="open | exclusive | sole | ordinary")
    lump_sum_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    royalty_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    payment_method: Mapped[str | None] = mapped_column(sa.String(60))
    licensor_uscc: Mapped[str | None] = mapped_column(sa.String(18))
    licensee_region_code: Mapped[str | None] = mapped_column(sa.String(6))
    licensee_industry_code: Mapped[str | None] = mapped_column(sa.String(10))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    granted_on: Mapped[date] = mapped_column(sa.Date, comment="China date of granted_at")
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_id: Mapped[str] = mapped_column(sa.String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
