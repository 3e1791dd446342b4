"""Patents (专利) keyed by the canonical application number, their owners and encumbrances; and
trademarks (商标, including geographical-indication marks 地理标志商标)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.registry.db import Base
from shared.db import UTCDateTime

PATENT_STATUSES = ("pending", "granted", "lapsed", "invalidated", "expired")
PATENT_KINDS = ("invention", "utility_model", "design", "pct_invention", "pct_utility_model")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Patent(Base):
    __tablename__ = "patents"
    __table_args__ = (
        sa.CheckConstraint(_in("status", PATENT_STATUSES), name="status"),
        sa.CheckConstraint(_in("kind", PATENT_KINDS), name="kind"),
    )

    application_no: Mapped[str] = mapped_column(sa.String(16), primary_key=True,
                                                comment="申请号, canonical (202410123456.0)")
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    abstract: Mapped[str | None] = mapped_column(sa.Text)
    ipc_codes: Mapped[list[str]] = mapped_column(sa.JSON, comment="IPC symbols, main first")
    locarno_class: Mapped[str | None] = mapped_column(sa.String(5), comment="designs: 14-02")
    filing_date: Mapped[date] = mapped_column(sa.Date)
    grant_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    ended_on: Mapped[date | None] = mapped_column(
        sa.Date, comment="lapsed/invalidated/expired: the day from which it is not in force")
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    annual_fees_paid_through: Mapped[int | None] = mapped_column(
        sa.Integer, comment="annual fees paid for patent years 1..N")
    term_extension_days: Mapped[int] = mapped_column(sa.Integer, default=0,
                                                     comment="专利权期限补偿 (Art 42)")
    family_members: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    awards: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    sei_tagged: Mapped[bool | None] = mapped_column(
        sa.Boolean, comment="战略性新兴产业, set by the IP office (no IPC concordance held)")
    sei_industry: Mapped[str | None] = mapped_column(sa.String(100))
    suspension_reason: Mapped[str | None] = mapped_column(sa.String(40))
    suspended_since: Mapped[date | None] = mapped_column(sa.Date)
    is_high_value: Mapped[bool] = mapped_column(sa.Boolean, default=False, index=True)
    high_value_categories: Mapped[list[str]] = mapped_column(sa.JSON)
    high_value_basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    high_value_assessed_on: Mapped[date | None] = mapped_column(sa.Date)
    warnings: Mapped[list[str]] = mapped_column(
        sa.JSON, comment="non-fatal findings (number, dates, owners)")
    revision: Mapped[int] = mapped_column(sa.Integer)
    registered_by: Mapped[str] = mapped_column(sa.String(120))
    updated_by: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    owners: Mapped[list[PatentOwner]] = relationship(
        back_populates="patent", lazy="raise", order_by="PatentOwner.position",
        cascade="all, delete-orphan")
    encumbrances: Mapped[list[PatentEncumbrance]] = relationship(
        back_populates="patent", lazy="raise", order_by="PatentEncumbrance.id",
        cascade="all, delete-orphan")

    # Optimistic concurrency: every UPDATE checks the revision it read; the service decides when
    # the revision moves (facts and the high-value flag), so a derived refresh does not bump it.
    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}


class PatentOwner(Base):
    """Applicant (申请人) while pending, patentee (专利权人) once granted; ``position`` 0 first."""

    __tablename__ = "patent_owners"
    __table_args__ = (sa.UniqueConstraint("application_no", "position",
                                          name="uq_patent_owners_application_no_position"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(
        sa.ForeignKey("patents.application_no", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), comment="percent, shares sum to 100")
    country: Mapped[str] = mapped_column(sa.String(2), comment="ISO 3166 alpha-2; CN domestic")
    region_code: Mapped[str | None] = mapped_column(
        sa.String(6), index=True,
        comment="GB/T 2260: the registered enterprise's region, else USCC positions 3-8")

    patent: Mapped[Patent] = relationship(back_populates="owners", lazy="raise")


class PatentEncumbrance(Base):
    """A pledge (质押) or licence (许可) on a patent, keyed by its reference (loan or licence id).

    Projected from financing and matching events (through ``service.set_encumbrance``).
    """

    __tablename__ = "patent_encumbrances"
    __table_args__ = (
        sa.UniqueConstraint("application_no", "kind", "reference",
                            name="uq_patent_encumbrances_application_no_kind_reference"),
        sa.CheckConstraint(_in("kind", ("pledge", "licence")), name="kind"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(
        sa.ForeignKey("patents.application_no", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    reference: Mapped[str] = mapped_column(sa.String(64))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date, comment="released / ended; null: open")
    pledgee_name: Mapped[str | None] = mapped_column(sa.String(200))
    pledgee_code: Mapped[str | None] = mapped_column(sa.String(64), comment="bank code")
    loan_id: Mapped[str | None] = mapped_column(sa.String(64))
    amount_10k_cny: Mapped[Decimal | None] = mapped_column(
        sa.Numeric(18, 6), comment="万元; six places hold any yuan amount exactly")
    pledgee_consent_to_open_licence: Mapped[bool | None] = mapped_column(sa.Boolean)
    licence_type: Mapped[str | None] = mapped_column(sa.String(10))
    licensee_name: Mapped[str | None] = mapped_column(sa.String(200))
    licensee_uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    source: Mapped[str] = mapped_column(sa.String(200), comment="event id or caller")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    patent: Mapped[Patent] = relationship(back_populates="encumbrances", lazy="raise")


class Trademark(Base):
    """A registered trademark (注册商标); ``geographical_indication`` marks GI marks."""

    __tablename__ = "trademarks"
    __table_args__ = (sa.CheckConstraint("nice_class BETWEEN 1 AND 45", name="nice_class"),)

    reg_no: Mapped[str] = mapped_column(sa.String(12), primary_key=True, comment="注册号")
    name: Mapped[str] = mapped_column(sa.String(200), comment="商标名称")
    nice_class: Mapped[int] = mapped_column(sa.Integer, comment="尼斯分类 1-45")
    holder_uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    mark_kind: Mapped[str | None] = mapped_column(sa.String(14),
                                                  comment="ordinary / collective / certification")
    geographical_indication: Mapped[bool] = mapped_column(sa.Boolean, index=True)
    gi_product: Mapped[str | None] = mapped_column(sa.String(200), comment="e.g. 大同黄花")
    registered_on: Mapped[date | None] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)
    revision: Mapped[int] = mapped_column(sa.Integer)
    registered_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EncumbranceEvent(Base):
    """The newest event received about one pledge or licence, and whether the patent carries it
    yet (``pending``: the patent is not registered; ``applied``: recorded on the patent)."""

    __tablename__ = "encumbrance_events"
    __table_args__ = (
        sa.UniqueConstraint("kind", "reference", name="uq_encumbrance_events_kind_reference"),
        sa.CheckConstraint("kind IN ('pledge', 'licence')", name="kind"),
        sa.CheckConstraint("state IN ('pending', 'applied')", name="state"),
        sa.Index("ix_encumbrance_events_state_application_no", "state", "application_no"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    reference: Mapped[str] = mapped_column(sa.String(64), comment="pledge id / licence id")
    application_no: Mapped[str] = mapped_column(sa.String(16), comment="申请号, canonical")
    revision: Mapped[int] = mapped_column(
        sa.Integer, comment="the sender's revision (pledges); licences are granted once: 1")
    state: Mapped[str] = mapped_column(sa.String(10), comment="pending | applied")
    change: Mapped[dict[str, Any]] = mapped_column(sa.JSON, comment="the encumbrance to record")
    amount_cny: Mapped[Decimal | None] = mapped_column(
        sa.Numeric(18, 2), comment="secured amount in yuan, exactly as received")
    event_id: Mapped[str] = mapped_column(sa.String(100))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    source: Mapped[str] = mapped_column(sa.String(200), comment="who sent it: type and event id")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
