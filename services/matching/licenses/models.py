"""Patent licences recorded by matching: open licences taken by written notice and payment
(Patent Law Art 51) and negotiated exclusive / sole / ordinary licences. Each becomes a
``license.granted`` event (registry records the encumbrance, financing a comparable when
verified), and verified priced ones are the comparables of the open-licence fee guidance."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.matching.db import Base
from shared.db import UTCDateTime


def new_id() -> str:
    return str(uuid.uuid4())


class License(Base):
    __tablename__ = "licenses"
    __table_args__ = (
        # one open licence per licensee per declaration (NULL open_license_id: not constrained)
        sa.UniqueConstraint("open_license_id", "licensee_uscc", name="open_once_per_licensee"),
        sa.Index("ix_licenses_granted", "granted_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    application_no: Mapped[str] = mapped_column(sa.String(20), index=True)
    patent_kind: Mapped[str] = mapped_column(sa.String(20))
    ipc_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    ipc_subclass: Mapped[str | None] = mapped_column(sa.String(4), index=True,
                                                     comment="main IPC subclass, e.g. H01M")
    open_license_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    license_type: Mapped[str] = mapped_column(sa.String(10),
                                              comment="open | exclusive | sole | ordinary")
    licensor_uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    licensor_name: Mapped[str] = mapped_column(sa.String(200))
    licensee_uscc: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    licensee_name: Mapped[str] = mapped_column(sa.String(200))
    licensee_industry_code: Mapped[str | None] = mapped_column(sa.String(5))
    licensee_industry_division: Mapped[str | None] = mapped_column(
        sa.String(2), index=True, comment="GB/T 4754 division (2 digits): fee-guidance scope")
    licensee_region_code: Mapped[str | None] = mapped_column(sa.String(6))
    payment_method: Mapped[str] = mapped_column(sa.String(24))
    lump_sum_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    entry_fee_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    royalty_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    royalty_base: Mapped[str | None] = mapped_column(sa.String(12))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    notice_sent_on: Mapped[date | None] = mapped_column(sa.Date, comment="written notice (Art 51)")
    notice_reference: Mapped[str | None] = mapped_column(sa.String(200))
    payment_amount_cny: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 2))
    payment_paid_on: Mapped[date | None] = mapped_column(sa.Date)
    payment_reference: Mapped[str | None] = mapped_column(sa.String(200))
    contract_reference: Mapped[str | None] = mapped_column(sa.String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(sa.String(120))
    recorded_by_department: Mapped[str] = mapped_column(
        sa.String(20), comment="department of the recording token (market_regulation, enterprise…)")
    verified: Mapped[bool] = mapped_column(
        sa.Boolean, comment="open licence taken, or negotiated one recorded by market_regulation; "
                            "a party's own record is not (never a price comparable)")
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
