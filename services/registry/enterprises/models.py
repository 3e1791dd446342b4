"""Enterprises (企业), keyed by the Unified Social Credit Code."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import UTCDateTime


class Enterprise(Base):
    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    province_code: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    industry_code: Mapped[str | None] = mapped_column(sa.String(5))
    industry_section: Mapped[str | None] = mapped_column(sa.String(1), index=True)
    ownership: Mapped[str | None] = mapped_column(sa.String(20))
    founded_on: Mapped[date | None] = mapped_column(sa.Date)
    uscc_warnings: Mapped[str | None] = mapped_column(sa.Text,
                                                      comment="non-fatal USCC findings, JSON list")
    uscc_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    registered_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
