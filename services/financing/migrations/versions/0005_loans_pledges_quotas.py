"""loans pledges quotas

Pledge loans with their state, decision basis and green-channel deadline; the patent pledges
(one active pledge per patent, enforced by a unique partial index); the banks' dedicated annual
credit quotas for cultivation-pool enterprises (usage never above the quota: a CHECK backs the
conditional UPDATE).

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_quotas',
    sa.Column('bank_code', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quota_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('used_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('set_by', sa.String(length=120), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('used_cny <= quota_cny', name=op.f('ck_bank_quotas_used_within_quota')),
    sa.CheckConstraint('used_cny >= 0', name=op.f('ck_bank_quotas_used_not_negative')),
    sa.PrimaryKeyConstraint('bank_code', 'year', name=op.f('pk_bank_quotas'))
    )
    op.create_table('loans',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('borrower_uscc', sa.String(length=18), nullable=False),
    sa.Column('borrower_name', sa.String(length=200), nullable=False),
    sa.Column('bank_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_amount_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False, comment='requested term'),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=False, comment='application date (China)'),
    sa.Column('applied_by', sa.String(length=120), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('tier_code', sa.String(length=30), nullable=True, comment='whitelist tier at application'),
    sa.Column('pool_member', sa.Boolean(), nullable=False, comment='in the pool at application'),
    sa.Column('pack', sa.String(length=60), nullable=False, comment='loans pack applied (id@vN)'),
    sa.Column('application_basis', sa.JSON(), nullable=False, comment='eligibility checks of every pledged patent'),
    sa.Column('green_channel', sa.Boolean(), nullable=False),
    sa.Column('decision_deadline', sa.Date(), nullable=True),
    sa.Column('green_channel_basis', sa.JSON(), nullable=False),
    sa.Column('green_channel_breached_on', sa.Date(), nullable=True, comment='first day the periodic check found it undecided past the deadline'),
    sa.Column('decision_late', sa.Boolean(), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=True, comment='approve | reject'),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decision_basis', sa.JSON(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('approved_amount_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('interest_rate', sa.Numeric(precision=9, scale=6), nullable=True, comment='annual, as a fraction'),
    sa.Column('approved_term_months', sa.Integer(), nullable=True),
    sa.Column('quota_year', sa.Integer(), nullable=True),
    sa.Column('quota_counted_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('disbursed_amount_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('disbursed_on', sa.Date(), nullable=True),
    sa.Column('maturity_on', sa.Date(), nullable=True),
    sa.Column('outstanding_principal_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('repaid_on', sa.Date(), nullable=True),
    sa.Column('overdue_since', sa.Date(), nullable=True),
    sa.Column('defaulted_on', sa.Date(), nullable=True),
    sa.Column('principal_loss_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('compensation_claim_id', sa.String(length=36), nullable=True),
    sa.Column('compensated_amount_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('close_reason', sa.String(length=20), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False, comment='every transition: action, from, to, by, at'),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans'))
    )
    op.create_index('ix_loans_bank_code_status', 'loans', ['bank_code', 'status'], unique=False)
    op.create_index(op.f('ix_loans_borrower_uscc'), 'loans', ['borrower_uscc'], unique=False)
    op.create_index('ix_loans_decision_deadline', 'loans', ['decision_deadline'], unique=False, postgresql_where=sa.text('decision_deadline IS NOT NULL'), sqlite_where=sa.text('decision_deadline IS NOT NULL'))
    op.create_index('ix_loans_quota', 'loans', ['bank_code', 'quota_year'], unique=False, postgresql_where=sa.text('quota_year IS NOT NULL'), sqlite_where=sa.text('quota_year IS NOT NULL'))
    op.create_index(op.f('ix_loans_status'), 'loans', ['status'], unique=False)
    op.create_index(op.f('ix_loans_decided_on'), 'loans', ['decided_on'], unique=False)
    op.create_index(op.f('ix_loans_disbursed_on'), 'loans', ['disbursed_on'], unique=False)
    op.create_table('pledges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('loan_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False, comment='order in the application'),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('pledgor_uscc', sa.String(length=18), nullable=False),
    sa.Column('pledgee_bank_code', sa.String(length=40), nullable=False),
    sa.Column('pledgee_name', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False, comment='applied | approved | registered | released'),
    sa.Column('registration_no', sa.String(length=64), nullable=True, comment='CNIPA 质押登记号'),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('secured_amount_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('pledgee_consent_to_open_licence', sa.Boolean(), nullable=True, comment='the bank consents to open-licence declarations (Rule 86)'),
    sa.Column('valuation_id', sa.String(length=36), nullable=True),
    sa.Column('valuation_value_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('pledge_rate', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('release_reason', sa.String(length=20), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_pledges_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges'))
    )
    op.create_index(op.f('ix_pledges_application_no'), 'pledges', ['application_no'], unique=False)
    op.create_index(op.f('ix_pledges_loan_id'), 'pledges', ['loan_id'], unique=False)
    op.create_index('uq_pledges_active_application_no', 'pledges', ['application_no'], unique=True, postgresql_where=sa.text("status IN ('applied', 'approved', 'registered')"), sqlite_where=sa.text("status IN ('applied', 'approved', 'registered')"))


def downgrade() -> None:
    op.drop_index("uq_pledges_active_application_no", table_name="pledges")
    op.drop_index(op.f("ix_pledges_loan_id"), table_name="pledges")
    op.drop_index(op.f("ix_pledges_application_no"), table_name="pledges")
    op.drop_table("pledges")
    op.drop_index(op.f("ix_loans_disbursed_on"), table_name="loans")
    op.drop_index(op.f("ix_loans_decided_on"), table_name="loans")
    op.drop_index(op.f("ix_loans_status"), table_name="loans")
    op.drop_index("ix_loans_quota", table_name="loans")
    op.drop_index("ix_loans_decision_deadline", table_name="loans")
    op.drop_index(op.f("ix_loans_borrower_uscc"), table_name="loans")
    op.drop_index("ix_loans_bank_code_status", table_name="loans")
    op.drop_table("loans")
    op.drop_table("bank_quotas")
