"""Risk-compensation funds (风险补偿资金), their ledgers and the banks' claims on them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.financing.db import Base
from shared.db import UTCDateTime

MONEY = sa.Numeric(18, 2)

#: Claim statuses that hold a loan: a loan has at most one such claim (the unique index below).
LIVE_CLAIM = sa.text("status IN ('filed', 'paid')")


class Fund(Base):
    """A compensation fund of one jurisdiction, applying one compensation pack."""

    __tablename__ = "compensation_funds"
    __table_args__ = (
        # The balance only moves by conditional UPDATEs (``balance >= amount``); this keeps the
        # database itself from ever holding an overdrawn fund.
        sa.CheckConstraint("balance_cny >= 0", name="balance_not_negative"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    jurisdiction: Mapped[str] = mapped_column(sa.String(6), index=True,
                                              comment="GB/T 2260 code of the area it covers")
    pack_id: Mapped[str] = mapped_column(sa.String(60), comment="compensation pack it applies")
    balance_cny: Mapped[Decimal] = mapped_column(MONEY)
    deposited_cny: Mapped[Decimal] = mapped_column(MONEY, comment="sum of deposits")
    paid_cny: Mapped[Decimal] = mapped_column(MONEY, comment="sum of compensation paid")
    note: Mapped[str | None] = mapped_column(sa.Text)
    manager_org: Mapped[str | None] = mapped_column(
        sa.String(40), comment="the managing office's org: only it deposits and pays")
    created_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerEntry(Base):
    """One movement of a fund's balance: a deposit (+) or a compensation payment (−)."""

    __tablename__ = "compensation_ledger"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('deposit', 'payment')", name="kind"),
        sa.CheckConstraint("balance_after_cny >= 0", name="balance_after_not_negative"),
        # A claim is paid at most once, whatever the requests do.
        sa.UniqueConstraint("claim_id", name="uq_compensation_ledger_claim_id"),
        sa.Index("ix_compensation_ledger_fund_id_id", "fund_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    fund_id: Mapped[str] = mapped_column(sa.ForeignKey("compensation_funds.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    amount_cny: Mapped[Decimal] = mapped_column(MONEY, comment="signed: + deposit, − payment")
    balance_after_cny: Mapped[Decimal] = mapped_column(MONEY)
    claim_id: Mapped[str | None] = mapped_column(sa.ForeignKey("compensation_claims.id"))
    reference: Mapped[str | None] = mapped_column(sa.String(200),
                                                  comment="budget document / transfer number")
    note: Mapped[str | None] = mapped_column(sa.Text)
    booked_on: Mapped[date] = mapped_column(sa.Date, comment="value date (China)")
    by: Mapped[str] = mapped_column(sa.String(120), comment="token subject")
    by_department: Mapped[str] = mapped_column(sa.String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Claim(Base):
    """A lending bank's claim on a fund for a defaulted loan's principal loss."""

    __tablename__ = "compensation_claims"
    __table_args__ = (
        sa.CheckConstraint("status IN ('filed', 'paid')", name="status"),
        sa.Index("uq_compensation_claims_live_loan_id", "loan_id", unique=True,
                 postgresql_where=LIVE_CLAIM, sqlite_where=LIVE_CLAIM),
        sa.Index("ix_compensation_claims_bank_code_filed_at", "bank_code", "filed_at"),
        sa.Index("ix_compensation_claims_fund_id_status", "fund_id", "status"),
        sa.Index("ix_compensation_claims_borrower_uscc", "borrower_uscc"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    loan_id: Mapped[str] = mapped_column(sa.String(36))
    fund_id: Mapped[str] = mapped_column(sa.ForeignKey("compensation_funds.id"))
    bank_code: Mapped[str] = mapped_column(sa.String(40))
    borrower_uscc: Mapped[str] = mapped_column(sa.String(18))
    status: Mapped[str] = mapped_column(sa.String(10), comment="filed | paid")
    principal_loss_cny: Mapped[Decimal] = mapped_column(MONEY, comment="claimed by the bank")
    other_collateral_cny: Mapped[Decimal] = mapped_column(
        MONEY, comment="non-IP collateral of the loan (0: pure IP pledge)")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    pack: Mapped[str] = mapped_column(sa.String(60), comment="id@vN applied")
    fund_share_cny: Mapped[Decimal] = mapped_column(MONEY, comment="the pack's share, uncapped")
    claimable_cny: Mapped[Decimal] = mapped_column(MONEY, comment="after every cap but balance")
    payable_cny: Mapped[Decimal] = mapped_column(MONEY, comment="at filing, within the balance")
    binding_cap: Mapped[str | None] = mapped_column(sa.String(40))
    basis: Mapped[dict[str, Any]] = mapped_column(sa.JSON, comment="the computation at filing")
    filed_by: Mapped[str] = mapped_column(sa.String(120))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_cny: Mapped[Decimal | None] = mapped_column(MONEY)
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_by: Mapped[str | None] = mapped_column(sa.String(120))
    payment_basis: Mapped[dict[str, Any] | None] = mapped_column(
        sa.JSON, comment="the computation at payment (balance and yearly caps then)")
    payment_note: Mapped[str | None] = mapped_column(sa.Text)
    revision: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
