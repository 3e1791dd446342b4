"""Financing's projections of registry facts: patents (with owners), qualifications, credit
flags and cultivation-pool membership.

Rows arrive only through registry events (``registry.enterprise.v1`` / ``registry.ip.v1``);
each carries the registry's ``revision`` so a redelivered or older event changes nothing. These
tables are what the whitelist, valuations and loans read: financing never calls the registry.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.financing.db import Base
from shared.db import UTCDateTime


class PatentFact(Base):
    __tablename__ = "patent_facts"

    application_no: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    patent_no: Mapped[str | None] = mapped_column(sa.String(24))
    kind: Mapped[str] = mapped_column(sa.String(20),
                                      comment="invention | utility_model | design | pct_*")
    title: Mapped[str] = mapped_column(sa.String(500))
    ipc_codes: Mapped[list[str]] = mapped_column(sa.JSON)
    owners: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON, comment="[{uscc|null, name, share}] in the registry's order")
    filing_date: Mapped[date] = mapped_column(sa.Date)
    grant_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(12),
                                        comment="pending | granted | lapsed | invalidated | expired")
    status_date: Mapped[date | None] = mapped_column(sa.Date)
    in_force: Mapped[bool] = mapped_column(sa.Boolean, comment="as of the event's date")
    term_ends_on: Mapped[date | None] = mapped_column(sa.Date)
    annual_fee_status: Mapped[str | None] = mapped_column(sa.String(20))
    suspended: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                            comment="procedures suspended (Rules 103-105)")
    high_value: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    high_value_categories: Mapped[list[str]] = mapped_column(sa.JSON)
    strategic_emerging_industry: Mapped[bool | None] = mapped_column(sa.Boolean)
    family_granted_abroad: Mapped[int] = mapped_column(sa.Integer, default=0)
    awards: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    encumbrances: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, comment="registry's summary: pledged, pledgees, licences by type")
    registry_pledged: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                                   comment="a pledge is registered (any pledgee)")
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # Class references, not names: financing and matching both map a PatentOwnerFact on the
    # shared declarative registry, and a name would be ambiguous in a process holding both.
    owner_rows: Mapped[list["PatentOwnerFact"]] = relationship(
        lambda: PatentOwnerFact, back_populates="patent", cascade="all, delete-orphan",
        lazy="selectin", order_by=lambda: PatentOwnerFact.position)


class PatentOwnerFact(Base):
    """One owner of a patent (an index from enterprise to its patents)."""

    __tablename__ = "patent_owner_facts"

    application_no: Mapped[str] = mapped_column(
        sa.ForeignKey("patent_facts.application_no", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    share: Mapped[str | None] = mapped_column(sa.String(8), comment="percent, decimal string")

    patent: Mapped[PatentFact] = relationship(lambda: PatentFact, back_populates="owner_rows")


class QualificationFact(Base):
    __tablename__ = "qualification_facts"

    qualification_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    level: Mapped[str | None] = mapped_column(sa.String(12))
    issuing_body: Mapped[str | None] = mapped_column(sa.String(200))
    certificate_no: Mapped[str | None] = mapped_column(sa.String(64))
    valid_from: Mapped[date | None] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(10), comment="active | revoked | expired")
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CreditFlagFact(Base):
    __tablename__ = "credit_flag_facts"

    flag_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    flagged_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(10), comment="active | cleared")
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PoolFact(Base):
    """Cultivation-pool membership (样板企业培育库), from ``pool.*`` events."""

    __tablename__ = "pool_facts"

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(12), comment="admitted | graduated | removed")
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    admitted_on: Mapped[date | None] = mapped_column(sa.Date)
    changed_on: Mapped[date | None] = mapped_column(sa.Date)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(sa.Integer)
    last_event_id: Mapped[str] = mapped_column(sa.String(64))
    projected_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CoOwnerConsent(Base):
    """A co-owner's written consent to pledge a co-owned patent (financing's own record).

    A co-owned patent is pledgeable (and counts for the whitelist) only when every co-owner other
    than the applicant has consented; ``owner_key`` is the owner's USCC, or its name for
    individuals and foreign owners (the registry's owner list).
    """

    __tablename__ = "co_owner_consents"

    application_no: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    owner_key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    for_uscc: Mapped[str] = mapped_column(sa.String(18),
                                          comment="the co-owner who may pledge with this consent")
    document_ref: Mapped[str] = mapped_column(sa.String(200), comment="consent letter reference")
    recorded_by: Mapped[str] = mapped_column(sa.String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
