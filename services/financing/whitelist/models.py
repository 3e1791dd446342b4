"""The whitelist: one entry per evaluated enterprise, and the log of published changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.financing.db import Base
from shared.db import UTCDateTime


class WhitelistEntry(Base):
    """The current standing of an enterprise. ``listed`` false rows are kept (with the failed
    rules) so an officer can ask why an enterprise is not on the list; ``revision`` counts the
    published changes (the ETag, and the guard a bank's consumer applies)."""

    __tablename__ = "whitelist_entries"
    __table_args__ = (
        sa.Index("ix_whitelist_entries_listed_tier", "listed", "tier_rank", "uscc"),
        sa.Index("ix_whitelist_entries_listed_province", "listed", "province_code", "uscc"),
    )

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    listed: Mapped[bool] = mapped_column(sa.Boolean)
    tier_code: Mapped[str | None] = mapped_column(sa.String(30))
    tier_rank: Mapped[int | None] = mapped_column(sa.Integer)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    region_code: Mapped[str | None] = mapped_column(sa.String(6))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    industry_code: Mapped[str | None] = mapped_column(sa.String(5))
    size_class: Mapped[str | None] = mapped_column(sa.String(10))
    tier: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    patents: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON, comment="pledgeable patents with their latest valuation")
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON, comment="rules, figures, clauses")
    pack: Mapped[str] = mapped_column(sa.String(40), comment="id@vN that decided")
    packs: Mapped[str] = mapped_column(
        sa.String(120), comment="every pack the decision used (whitelist, pledge rules): a "
                                "change of any of them re-evaluates the entry")
    digest: Mapped[str] = mapped_column(sa.String(64),
                                        comment="hash of the published content (change test)")
    revision: Mapped[int] = mapped_column(sa.Integer, comment="published changes; 0: never")
    listed_since: Mapped[date | None] = mapped_column(sa.Date)
    cause: Mapped[str] = mapped_column(sa.String(80), comment="what triggered the evaluation")
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class WhitelistChange(Base):
    """Each published change (added / updated / removed) with the basis at that moment."""

    __tablename__ = "whitelist_changes"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    revision: Mapped[int] = mapped_column(sa.Integer)
    change: Mapped[str] = mapped_column(sa.String(10), comment="added | updated | removed")
    event_id: Mapped[str] = mapped_column(sa.String(64))
    tier_code: Mapped[str | None] = mapped_column(sa.String(30))
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    cause: Mapped[str] = mapped_column(sa.String(80))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
