"""risk compensation

Risk-compensation funds (风险补偿资金) with a balance that never goes negative (a CHECK backs the
conditional UPDATE), their ledgers (one payment per claim: unique claim_id) and the banks'
claims (one live claim per loan: a unique partial index).

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('compensation_funds',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('jurisdiction', sa.String(length=6), nullable=False, comment='GB/T 2260 code of the area it covers'),
    sa.Column('pack_id', sa.String(length=60), nullable=False, comment='compensation pack it applies'),
    sa.Column('balance_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('deposited_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='sum of deposits'),
    sa.Column('paid_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='sum of compensation paid'),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('manager_org', sa.String(length=40), nullable=True, comment="the managing office's org: only it deposits and pays"),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('balance_cny >= 0', name=op.f('ck_compensation_funds_balance_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compensation_funds'))
    )
    op.create_index(op.f('ix_compensation_funds_jurisdiction'), 'compensation_funds', ['jurisdiction'], unique=False)
    op.create_table('compensation_claims',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('loan_id', sa.String(length=36), nullable=False),
    sa.Column('fund_id', sa.String(length=36), nullable=False),
    sa.Column('bank_code', sa.String(length=40), nullable=False),
    sa.Column('borrower_uscc', sa.String(length=18), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False, comment='filed | paid'),
    sa.Column('principal_loss_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='claimed by the bank'),
    sa.Column('other_collateral_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='non-IP collateral of the loan (0: pure IP pledge)'),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('pack', sa.String(length=60), nullable=False, comment='id@vN applied'),
    sa.Column('fund_share_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment="the pack's share, uncapped"),
    sa.Column('claimable_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='after every cap but balance'),
    sa.Column('payable_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='at filing, within the balance'),
    sa.Column('binding_cap', sa.String(length=40), nullable=True),
    sa.Column('basis', sa.JSON(), nullable=False, comment='the computation at filing'),
    sa.Column('filed_by', sa.String(length=120), nullable=False),
    sa.Column('filed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('paid_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_by', sa.String(length=120), nullable=True),
    sa.Column('payment_basis', sa.JSON(), nullable=True, comment='the computation at payment (balance and yearly caps then)'),
    sa.Column('payment_note', sa.Text(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('filed', 'paid')", name=op.f('ck_compensation_claims_status')),
    sa.ForeignKeyConstraint(['fund_id'], ['compensation_funds.id'], name=op.f('fk_compensation_claims_fund_id_compensation_funds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compensation_claims'))
    )
    op.create_index('ix_compensation_claims_bank_code_filed_at', 'compensation_claims', ['bank_code', 'filed_at'], unique=False)
    op.create_index('ix_compensation_claims_borrower_uscc', 'compensation_claims', ['borrower_uscc'], unique=False)
    op.create_index('ix_compensation_claims_fund_id_status', 'compensation_claims', ['fund_id', 'status'], unique=False)
    op.create_index('uq_compensation_claims_live_loan_id', 'compensation_claims', ['loan_id'], unique=True, postgresql_where=sa.text("status IN ('filed', 'paid')"), sqlite_where=sa.text("status IN ('filed', 'paid')"))
    op.create_table('compensation_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('fund_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='signed: + deposit, − payment'),
    sa.Column('balance_after_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True, comment='budget document / transfer number'),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('booked_on', sa.Date(), nullable=False, comment='value date (China)'),
    sa.Column('by', sa.String(length=120), nullable=False, comment='token subject'),
    sa.Column('by_department', sa.String(length=40), nullable=False),
    sa.Column('at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('deposit', 'payment')", name=op.f('ck_compensation_ledger_kind')),
    sa.CheckConstraint('balance_after_cny >= 0', name=op.f('ck_compensation_ledger_balance_after_not_negative')),
    sa.ForeignKeyConstraint(['claim_id'], ['compensation_claims.id'], name=op.f('fk_compensation_ledger_claim_id_compensation_claims')),
    sa.ForeignKeyConstraint(['fund_id'], ['compensation_funds.id'], name=op.f('fk_compensation_ledger_fund_id_compensation_funds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compensation_ledger')),
    sa.UniqueConstraint('claim_id', name='uq_compensation_ledger_claim_id')
    )
    op.create_index('ix_compensation_ledger_fund_id_id', 'compensation_ledger', ['fund_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index("ix_compensation_ledger_fund_id_id", table_name="compensation_ledger")
    op.drop_table("compensation_ledger")
    op.drop_index("uq_compensation_claims_live_loan_id", table_name="compensation_claims")
    op.drop_index("ix_compensation_claims_fund_id_status", table_name="compensation_claims")
    op.drop_index("ix_compensation_claims_borrower_uscc", table_name="compensation_claims")
    op.drop_index("ix_compensation_claims_bank_code_filed_at", table_name="compensation_claims")
    op.drop_table("compensation_claims")
    op.drop_index(op.f("ix_compensation_funds_jurisdiction"), table_name="compensation_funds")
    op.drop_table("compensation_funds")
