"""Credit and compliance flags (信用 / 合规标记) raised by the credit department."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import UTCDateTime


class CreditFlag(Base):
    __tablename__ = "credit_flags"
    __table_args__ = (
        # The same finding (kind + reference) is raised once while it is active; a concurrent
        # second raise fails on this index (409) instead of publishing two flags.
        sa.Index("uq_credit_flags_active_finding", "uscc", "kind", "reference", unique=True,
                 postgresql_where=sa.text("status = 'active'"),
                 sqlite_where=sa.text("status = 'active'")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.ForeignKey("enterprises.uscc"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    source: Mapped[str] = mapped_column(sa.String(200), comment="who found it (信用中国, 税务 …)")
    reference: Mapped[str] = mapped_column(sa.String(200), comment="decision / list entry number")
    flagged_on: Mapped[date] = mapped_column(sa.Date, comment="date of the finding")
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), comment="active | cleared")
    basis: Mapped[str] = mapped_column(sa.Text, comment="JSON: consequences and their clauses")
    raised_by: Mapped[str] = mapped_column(sa.String(120))
    cleared_on: Mapped[date | None] = mapped_column(sa.Date)
    clearance_reason: Mapped[str | None] = mapped_column(sa.Text)
    cleared_by: Mapped[str | None] = mapped_column(sa.String(120))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
