"""Equity track (CSRC): regional equity market registrations (挂牌), guidance-fund investments and
the pre-IPO IP compliance checklist of pool enterprises."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.financing.db import Base
from shared.db import UTCDateTime


class EquityListing(Base):
    """A registration (挂牌) on a regional equity market (区域性股权市场)."""

    __tablename__ = "equity_listings"
    __table_args__ = (
        # One registration per enterprise and market; a listing code is unique on its market.
        sa.UniqueConstraint("uscc", "market_name", name="uq_equity_listings_uscc_market"),
        sa.UniqueConstraint("market_name", "code", name="uq_equity_listings_market_code"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    market_name: Mapped[str] = mapped_column(sa.String(200), comment="e.g. 山西股权交易中心")
    board: Mapped[str] = mapped_column(sa.String(100), comment="板块, e.g. 专精特新专板")
    code: Mapped[str] = mapped_column(sa.String(32), comment="挂牌代码 on that market")
    listed_on: Mapped[date] = mapped_column(sa.Date)
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON, comment="pool rule, figures, clause")
    recorded_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EquityInvestment(Base):
    """A guidance-fund investment: common equity, preferred shares registered on a regional
    equity market, or 科技成果+认股权 (technology achievement plus a share warrant)."""

    __tablename__ = "equity_investments"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    fund_name: Mapped[str] = mapped_column(sa.String(200))
    amount_cny: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))
    instrument: Mapped[str] = mapped_column(
        sa.String(30), comment="common_equity | preferred_shares | tech_achievement_warrant")
    invested_on: Mapped[date] = mapped_column(sa.Date)
    shareholding_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 4))
    preferred_terms: Mapped[dict[str, Any] | None] = mapped_column(
        sa.JSON, comment="registration on the regional equity market (登记存管)")
    warrant_terms: Mapped[dict[str, Any] | None] = mapped_column(
        sa.JSON, comment="认股权 terms: achievement, holder, share, price, window")
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    recorded_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EquityChecklist(Base):
    """The pre-IPO IP compliance checklist of one enterprise (one row, revised in place)."""

    __tablename__ = "equity_checklists"

    uscc: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    items: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON, comment="each item: status, who decided, note, computed finding, clauses")
    assessments: Mapped[dict[str, dict[str, Any]]] = mapped_column(
        sa.JSON, comment="the officer's assessments by item code, as last sent")
    ready: Mapped[bool] = mapped_column(sa.Boolean, comment="no item is an issue or unassessed")
    pack: Mapped[str] = mapped_column(sa.String(40))
    revision: Mapped[int] = mapped_column(sa.Integer)
    updated_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
