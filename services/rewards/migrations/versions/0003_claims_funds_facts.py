"""claims, cap tallies, funds and ledgers, fact projections, pack versions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_flag_facts',
    sa.Column('flag_id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('flagged_on', sa.Date(), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('flag_id', name=op.f('pk_credit_flag_facts'))
    )
    op.create_index('ix_credit_flag_facts_uscc', 'credit_flag_facts', ['uscc'], unique=False)
    op.create_table('item_facts',
    sa.Column('item_kind', sa.String(length=20), nullable=False),
    sa.Column('item_ref', sa.String(length=120), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True, comment='the party a reward would go to'),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('item_date', sa.Date(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False, comment="the event's payload"),
    sa.Column('revision', sa.Integer(), nullable=True),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('item_kind', 'item_ref', name=op.f('pk_item_facts'))
    )
    op.create_index('ix_item_facts_uscc', 'item_facts', ['uscc'], unique=False)
    op.create_table('policy_pack_versions',
    sa.Column('pack_id', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file', sa.String(length=200), nullable=False),
    sa.Column('loaded_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pack_id', 'version', name=op.f('pk_policy_pack_versions'))
    )
    op.create_table('pool_facts',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False, comment='admitted | graduated | removed'),
    sa.Column('admitted_on', sa.Date(), nullable=True),
    sa.Column('changed_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=60), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uscc', name=op.f('pk_pool_facts'))
    )
    op.create_table('qualification_facts',
    sa.Column('qualification_id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('qualification_id', name=op.f('pk_qualification_facts'))
    )
    op.create_index('ix_qualification_facts_uscc', 'qualification_facts', ['uscc'], unique=False)
    op.create_table('reward_claims',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=True),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('pack_id', sa.String(length=60), nullable=False, comment='pack id (stable across versions)'),
    sa.Column('pack_ref', sa.String(length=70), nullable=False, comment='id@vN applied'),
    sa.Column('jurisdiction', sa.String(length=10), nullable=False),
    sa.Column('rule_code', sa.String(length=60), nullable=False),
    sa.Column('item_kind', sa.String(length=20), nullable=False),
    sa.Column('item_ref', sa.String(length=120), nullable=False),
    sa.Column('item_date', sa.Date(), nullable=False),
    sa.Column('item', sa.JSON(), nullable=False, comment="the item's facts as decided"),
    sa.Column('origin', sa.String(length=10), nullable=False, comment='event | filed'),
    sa.Column('trigger_event_id', sa.String(length=64), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_before_hold', sa.String(length=20), nullable=True),
    sa.Column('requested_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('amount_cny', sa.Numeric(precision=18, scale=2), nullable=True, comment='after every cap'),
    sa.Column('reserved', sa.JSON(), nullable=False, comment='what this claim holds in each cap tally {key: cny}'),
    sa.Column('doubt_flags', sa.JSON(), nullable=False),
    sa.Column('department', sa.String(length=40), nullable=False),
    sa.Column('fund_code', sa.String(length=60), nullable=False),
    sa.Column('review_due_on', sa.Date(), nullable=True),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_department', sa.String(length=40), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payment_blocked', sa.String(length=40), nullable=True, comment='why an approved claim is not paid yet (fund_missing, balance)'),
    sa.Column('paid_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('ledger_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('hold_reason', sa.Text(), nullable=True),
    sa.Column('recovery_reason', sa.Text(), nullable=True),
    sa.Column('recovered_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('filed_by', sa.String(length=120), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('awaiting_facts', 'pending_review', 'approved', 'paid', 'rejected', 'held', 'recovery', 'recovered', 'recovery_waived')", name=op.f('ck_reward_claims_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_claims')),
    sa.UniqueConstraint('pack_id', 'rule_code', 'item_ref', name='uq_reward_claims_item')
    )
    op.create_index('ix_reward_claims_created_at_id', 'reward_claims', ['created_at', 'id'], unique=False)
    op.create_index('ix_reward_claims_status_department', 'reward_claims', ['status', 'department'], unique=False)
    op.create_index('ix_reward_claims_uscc_created_at', 'reward_claims', ['uscc', 'created_at'], unique=False)
    op.create_table('reward_funds',
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source_kind', sa.String(length=40), nullable=False, comment='sme_development | srdi_award | ip_fund | central_fiscal | other'),
    sa.Column('jurisdiction', sa.String(length=10), nullable=False),
    sa.Column('manager_department', sa.String(length=40), nullable=False),
    sa.Column('balance_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('deposited_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('recovered_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('balance_cny >= 0', name=op.f('ck_reward_funds_balance_not_negative')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_reward_funds'))
    )
    op.create_table('reward_tallies',
    sa.Column('key', sa.String(length=200), nullable=False, comment='pack_id|rule|uscc|period (all or a year)'),
    sa.Column('cap_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('max_items', sa.Integer(), nullable=True),
    sa.Column('committed_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cap_cny IS NULL OR committed_cny <= cap_cny', name=op.f('ck_reward_tallies_within_cap')),
    sa.CheckConstraint('committed_cny >= 0 AND items >= 0', name=op.f('ck_reward_tallies_not_negative')),
    sa.CheckConstraint('max_items IS NULL OR items <= max_items', name=op.f('ck_reward_tallies_within_items')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_reward_tallies'))
    )
    op.create_table('reward_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('fund_code', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount_cny', sa.Numeric(precision=18, scale=2), nullable=False, comment='signed: + deposit/recovery, − payment'),
    sa.Column('balance_after_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('claim_id', sa.String(length=36), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True, comment='budget document / transfer number'),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('booked_on', sa.Date(), nullable=False, comment='value date (China)'),
    sa.Column('by', sa.String(length=120), nullable=False),
    sa.Column('at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('deposit', 'payment', 'recovery')", name=op.f('ck_reward_ledger_kind')),
    sa.CheckConstraint('balance_after_cny >= 0', name=op.f('ck_reward_ledger_balance_after_not_negative')),
    sa.ForeignKeyConstraint(['fund_code'], ['reward_funds.code'], name=op.f('fk_reward_ledger_fund_code_reward_funds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward_ledger')),
    sa.UniqueConstraint('claim_id', 'kind', name='uq_reward_ledger_claim_kind')
    )
    op.create_index('ix_reward_ledger_fund_code_id', 'reward_ledger', ['fund_code', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('reward_ledger')
    op.drop_table('reward_tallies')
    op.drop_table('reward_funds')
    op.drop_table('reward_claims')
    op.drop_table('qualification_facts')
    op.drop_table('pool_facts')
    op.drop_table('policy_pack_versions')
    op.drop_table('item_facts')
    op.drop_table('credit_flag_facts')
