"""Matching's projections of registry facts: patents (with owners, abstract, IPC, the Rule 86
blockers the registry derives) and cultivation-pool membership.

Rows arrive only through registry events (``registry.ip.v1`` / ``registry.enterprise.v1``); each
carries the registry's ``revision`` so a redelivered or older event changes nothing. Declarations
are checked against these rows, the index reads their text and IPC codes, and reverse matching
reads an enterprise's IPC profile from the patents it owns. Matching never calls the registry.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.matching.db import Base
from shared.db import UTCDateTime


class PatentFact(Base):
    __tablename__ = "patent_facts"

    application_no: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20),
                                      comment="invention | utility_model | design | pct_*")
    title: Mapped[str] = mapped_column(sa.String(500))
    abstract: Mapped[str | None] = mapped_column(sa.Text)
    ipc_codes: Mapped[list[str]] = mapped_column(sa.JSON, comment="normalised, main first")
    owners: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON, comment="[{uscc|null, name, share, region_code}] in the registry's order")
    filing_date: Mapped[date] = mapped_column(sa.Date)
    grant_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(12),
                                        comment="pending | granted | lapsed | invalidated | expired")
    in_force: Mapped[bool] = mapped_column(sa.Boolean, comment="as of the event's date")
    term_ends_on: Mapped[date | None] = mapped_column(sa.Date)
    annual_fee_status: Mapped[str | None] = mapped_column(sa.String(20))
    suspended: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    high_value: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    encumbrances: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, comment="registry's summary: pledged, pledgee consent, licences by type")
    blockers: Mapped[list[str]] = mapped_column(
        sa.JSON, comment="registry's open_license_blockers (Rule 86 grounds, not in force)")
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # Class references, not names: financing and matching both map a PatentOwnerFact on the
    # shared declarative registry, and a name would be ambiguous in a process holding both.
    owner_rows: Mapped[list[PatentOwnerFact]] = relationship(
        lambda: PatentOwnerFact, back_populates="patent", cascade="all, delete-orphan",
        lazy="selectin", order_by=lambda: PatentOwnerFact.position)


class PatentOwnerFact(Base):
    """One owner of a patent: who may declare it, and the enterprise → patents index that reverse
    matching reads an IPC profile from."""

    __tablename__ = "patent_owner_facts"

    application_no: Mapped[str] = mapped_column(
        sa.ForeignKey("patent_facts.application_no", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))

    patent: Mapped[PatentFact] = relationship(lambda: PatentFact, back_populates="owner_rows")


class PoolFact(Base):
    """Cultivation-pool membership (样板企业培育库), from ``pool.*`` events: pool enterprises are
    pushed first (five-ministry plan 2024)."""

    __tablename__ = "pool_facts"

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(12), comment="admitted | graduated | removed")
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    admitted_on: Mapped[date | None] = mapped_column(sa.Date)
    changed_on: Mapped[date | None] = mapped_column(sa.Date)
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def member(self) -> bool:
        """In the pool now: admitted, or graduated and in follow-up cultivation (接续培育)."""
        return self.status in ("admitted", "graduated")
