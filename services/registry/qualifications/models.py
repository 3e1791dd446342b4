"""Qualifications (资质 / 称号: 专精特新, 小巨人, 高新技术企业 …) held by registered enterprises."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import UTCDateTime


class Qualification(Base):
    __tablename__ = "qualifications"
    __table_args__ = (
        # One certificate number per kind: a second grant with it is a duplicate (409).
        sa.UniqueConstraint("kind", "certificate_no", name="uq_qualifications_kind_certificate_no"),
        # The expiry sweep: WHERE status = 'active' AND valid_to < today.
        sa.Index("ix_qualifications_status_valid_to", "status", "valid_to"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.ForeignKey("enterprises.uscc"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    level: Mapped[str] = mapped_column(sa.String(12))
    issuing_department: Mapped[str] = mapped_column(sa.String(30))
    issuing_body: Mapped[str] = mapped_column(sa.String(200), comment="发证机关")
    certificate_no: Mapped[str] = mapped_column(sa.String(64), comment="证书编号")
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date] = mapped_column(sa.Date, comment="last day of validity (inclusive)")
    status: Mapped[str] = mapped_column(sa.String(10), comment="active | revoked | expired")
    basis: Mapped[str] = mapped_column(sa.Text, comment="JSON: pack, clauses, validity rule, "
                                                        "checks; renewals appended")
    renewal_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    revoked_on: Mapped[date | None] = mapped_column(sa.Date)
    revocation_reason: Mapped[str | None] = mapped_column(sa.Text)
    revoked_by: Mapped[str | None] = mapped_column(sa.String(120))
    expired_on: Mapped[date | None] = mapped_column(sa.Date, comment="sweep date that marked it")
    revision: Mapped[int] = mapped_column(sa.Integer, default=1)
    granted_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
