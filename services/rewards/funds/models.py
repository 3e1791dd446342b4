"""Reward funds (中小企业发展专项资金, 专精特新奖补资金, IP funds …) and their ledgers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.rewards.db import Base
from shared.db import UTCDateTime

MONEY = sa.Numeric(18, 2)


class RewardFund(Base):
    """A fund that pays claims of the rules naming its code. The balance moves only by
    conditional UPDATEs (a debit only while ``balance >= amount``): never overspent."""

    __tablename__ = "reward_funds"
    __table_args__ = (sa.CheckConstraint("balance_cny >= 0", name="balance_not_negative"),)

    code: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    source_kind: Mapped[str] = mapped_column(
        sa.String(40), comment="sme_development | srdi_award | ip_fund | central_fiscal | other")
    jurisdiction: Mapped[str] = mapped_column(sa.String(10))
    manager_department: Mapped[str] = mapped_column(sa.String(40))
    balance_cny: Mapped[Decimal] = mapped_column(MONEY)
    deposited_cny: Mapped[Decimal] = mapped_column(MONEY)
    paid_cny: Mapped[Decimal] = mapped_column(MONEY)
    recovered_cny: Mapped[Decimal] = mapped_column(MONEY)
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RewardLedgerEntry(Base):
    """One movement: deposit (+), payment (−) of a claim, recovery (+) of a clawed-back claim."""

    __tablename__ = "reward_ledger"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('deposit', 'payment', 'recovery')", name="kind"),
        sa.CheckConstraint("balance_after_cny >= 0", name="balance_after_not_negative"),
        # A claim is paid at most once and recovered at most once, whatever happens above.
        sa.UniqueConstraint("claim_id", "kind", name="uq_reward_ledger_claim_kind"),
        sa.Index("ix_reward_ledger_fund_code_id", "fund_code", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    fund_code: Mapped[str] = mapped_column(sa.ForeignKey("reward_funds.code"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    amount_cny: Mapped[Decimal] = mapped_column(MONEY, comment="signed: + deposit/recovery, − payment")
    balance_after_cny: Mapped[Decimal] = mapped_column(MONEY)
    claim_id: Mapped[str | None] = mapped_column(sa.String(36))
    reference: Mapped[str | None] = mapped_column(sa.String(200),
                                                  comment="budget document / transfer number")
    note: Mapped[str | None] = mapped_column(sa.Text)
    booked_on: Mapped[date] = mapped_column(sa.Date, comment="value date (China)")
    by: Mapped[str] = mapped_column(sa.String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
