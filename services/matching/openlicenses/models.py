"""Open-licence declarations (专利开放许可声明, Patent Law Arts 50-51, Implementing Rules
Arts 85-86).

One row per declaration, refused ones included (status ``refused`` with the basis that refused
them, so an officer can answer "why?"). At most one live declaration (declared, published or
suspended) per patent, enforced by a partial unique index. Only ``published`` ones can be
taken and are searchable. ``changed_at`` moves on every change: the matching index polls it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.matching.db import Base
from shared.db import UTCDateTime

_LIVE = sa.text("status IN ('declared', 'published', 'suspended')")


def new_id() -> str:
    return str(uuid.uuid4())


class OpenLicense(Base):
    __tablename__ = "open_licenses"
    __table_args__ = (
        sa.Index("uq_open_licenses_live_patent", "application_no", unique=True,
                 postgresql_where=_LIVE, sqlite_where=_LIVE),
        sa.Index("ix_open_licenses_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    application_no: Mapped[str] = mapped_column(sa.String(20), index=True,
                                                comment="申请号, canonical (from PatentFact)")
    patent_kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(
        sa.String(12), index=True,
        comment="declared | published | withdrawn | suspended | refused")
    patentee_uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    patentee_name: Mapped[str] = mapped_column(sa.String(200))
    patentee_type: Mapped[str] = mapped_column(
        sa.String(20), comment="university | research_institute | enterprise | individual | other")
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    title: Mapped[str] = mapped_column(sa.String(500))
    abstract: Mapped[str | None] = mapped_column(sa.Text)
    claims: Mapped[str | None] = mapped_column(sa.Text)
    technical_field: Mapped[str | None] = mapped_column(sa.String(500))
    application_scenarios: Mapped[str | None] = mapped_column(sa.Text)
    keywords: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    ipc_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    industry_codes: Mapped[list[str]] = mapped_column(
        sa.JSON, default=list, comment="GB/T 4754-2017 codes the licence targets")
    ipc_index: Mapped[str] = mapped_column(
        sa.String(1000), default="", comment="|H01M10/0525|… for prefix filters")
    industry_index: Mapped[str] = mapped_column(sa.String(300), default="",
                                                comment="|C3985|… for prefix filters")
    payment_method: Mapped[str] = mapped_column(
        sa.String(24), comment="lump_sum | royalty | entry_fee_plus_royalty | free")
    lump_sum_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    entry_fee_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    royalty_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    royalty_base: Mapped[str | None] = mapped_column(sa.String(12), comment="net_sales | profit")
    payment_terms: Mapped[str | None] = mapped_column(sa.Text)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    grant_date: Mapped[date | None] = mapped_column(sa.Date)
    evaluation_report_ref: Mapped[str | None] = mapped_column(sa.String(200))
    co_owner_consents: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    fee_guidance: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    suspension_reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    declared_by: Mapped[str | None] = mapped_column(sa.String(120))
    published_by: Mapped[str | None] = mapped_column(sa.String(120))
    withdrawn_by: Mapped[str | None] = mapped_column(sa.String(120))
    published_on: Mapped[date | None] = mapped_column(sa.Date)
    withdrawn_on: Mapped[date | None] = mapped_column(sa.Date)
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
