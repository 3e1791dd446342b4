"""Enterprises (企业), keyed by the Unified Social Credit Code."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import UTCDateTime


class Enterprise(Base):
    __tablename__ = "enterprises"
    __table_args__ = (
        # The common list filter (section + region range): 34 -> 12 ms over 100k on SQLite.
        sa.Index("ix_enterprises_section_region", "industry_section", "region_code"),
    )

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    province_code: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    industry_code: Mapped[str | None] = mapped_column(sa.String(5))
    industry_section: Mapped[str | None] = mapped_column(sa.String(1), index=True)
    ownership: Mapped[str | None] = mapped_column(sa.String(20))
    founded_on: Mapped[date | None] = mapped_column(sa.Date)
    employees: Mapped[int | None] = mapped_column(sa.Integer, comment="从业人员 (persons)")
    revenue_10k_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2),
                                                            comment="营业收入 (万元)")
    total_assets_10k_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2),
                                                                 comment="资产总额 (万元)")
    figures_year: Mapped[int | None] = mapped_column(sa.Integer)
    size_class: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    size_basis: Mapped[str | None] = mapped_column(sa.Text, comment="JSON: rules, figures, clause")
    uscc_warnings: Mapped[str | None] = mapped_column(sa.Text,
                                                      comment="non-fatal USCC findings, JSON list")
    uscc_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    registered_by: Mapped[str] = mapped_column(sa.String(120))
    updated_by: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
