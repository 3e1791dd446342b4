"""Patent-intensive products (专利密集型产品) filed by enterprises and recognised by the IP office."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.registry.db import Base
from shared.db import UTCDateTime

PRODUCT_STATUSES = ("filed", "recognized", "rejected")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("status IN ('filed', 'recognized', 'rejected')", name="status"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.ForeignKey("enterprises.uscc"), index=True,
                                      comment="the filing enterprise")
    name: Mapped[str] = mapped_column(sa.String(200), comment="产品名称")
    description: Mapped[str | None] = mapped_column(sa.Text)
    figures_year: Mapped[int] = mapped_column(sa.Integer, comment="the year of sales and profit")
    annual_sales_10k_cny: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2), comment="万元")
    annual_profit_10k_cny: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2), comment="万元")
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[str | None] = mapped_column(sa.String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recognized_on: Mapped[date | None] = mapped_column(sa.Date)
    revision: Mapped[int] = mapped_column(sa.Integer)
    filed_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    patents: Mapped[list[ProductPatent]] = relationship(
        back_populates="product", lazy="raise", order_by="ProductPatent.position",
        cascade="all, delete-orphan")


class ProductPatent(Base):
    """A patent the product embodies (the filer's own, granted and in force when filed)."""

    __tablename__ = "product_patents"

    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"),
                                            primary_key=True)
    application_no: Mapped[str] = mapped_column(sa.ForeignKey("patents.application_no"),
                                                primary_key=True, index=True)
    position: Mapped[int] = mapped_column(sa.Integer)

    product: Mapped[Product] = relationship(back_populates="patents", lazy="raise")
