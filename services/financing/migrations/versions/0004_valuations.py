"""valuations: patent valuations, banks' internal valuations beside them, licence comparables

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('valuation_license_comparables',
    sa.Column('license_id', sa.String(length=36), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('patent_kind', sa.String(length=20), nullable=True),
    sa.Column('ipc_subclass', sa.String(length=4), nullable=True, comment="subclass (first 4 chars) of the licensed patent's main IPC code"),
    sa.Column('ipc_codes', sa.JSON(), nullable=False),
    sa.Column('license_type', sa.String(length=12), nullable=False, comment='open | exclusive | sole | ordinary'),
    sa.Column('lump_sum_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('royalty_rate', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('payment_method', sa.String(length=60), nullable=True),
    sa.Column('licensor_uscc', sa.String(length=18), nullable=True),
    sa.Column('licensee_region_code', sa.String(length=6), nullable=True),
    sa.Column('licensee_industry_code', sa.String(length=10), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('granted_on', sa.Date(), nullable=False, comment='China date of granted_at'),
    sa.Column('granted_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('license_id', name=op.f('pk_valuation_license_comparables'))
    )
    op.create_index('ix_valuation_license_comparables_pick', 'valuation_license_comparables', ['ipc_subclass', 'granted_on'], unique=False)
    op.create_table('valuations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('patent_kind', sa.String(length=20), nullable=False),
    sa.Column('owner_usccs', sa.JSON(), nullable=False, comment="USCCs of the patent's owners when valued (readers, event key)"),
    sa.Column('purpose', sa.String(length=20), nullable=False, comment='pledge_financing | licensing | transfer | other'),
    sa.Column('valuation_date', sa.Date(), nullable=False, comment='评估基准日'),
    sa.Column('value_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('low_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('high_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('method', sa.String(length=120), nullable=False, comment="method codes joined by '+', e.g. income_profit_split+cost_obsolescence"),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('pack', sa.String(length=60), nullable=False, comment='policy pack id@version applied'),
    sa.Column('inputs_hash', sa.String(length=64), nullable=False, comment='sha256 of every input the result depends on'),
    sa.Column('result', sa.JSON(), nullable=False, comment='methods, combination, indicators, assumptions, inputs, comparables'),
    sa.Column('requested_by', sa.String(length=120), nullable=False),
    sa.Column('requester_department', sa.String(length=30), nullable=False),
    sa.Column('requester_org', sa.String(length=40), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_valuations'))
    )
    op.create_index(op.f('ix_valuations_inputs_hash'), 'valuations', ['inputs_hash'], unique=False)
    op.create_index('ix_valuations_latest', 'valuations', ['application_no', 'valuation_date', 'created_at'], unique=False)
    op.create_table('valuation_bank_assessments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('valuation_id', sa.String(length=36), nullable=False),
    sa.Column('bank_code', sa.String(length=40), nullable=False, comment="the bank's org claim"),
    sa.Column('value_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('valued_on', sa.Date(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['valuation_id'], ['valuations.id'], name=op.f('fk_valuation_bank_assessments_valuation_id_valuations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_valuation_bank_assessments')),
    sa.UniqueConstraint('valuation_id', 'bank_code', name=op.f('uq_valuation_bank_assessments_valuation_id'))
    )
    op.create_index(op.f('ix_valuation_bank_assessments_valuation_id'), 'valuation_bank_assessments', ['valuation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_valuation_bank_assessments_valuation_id'),
                  table_name='valuation_bank_assessments')
    op.drop_table('valuation_bank_assessments')
    op.drop_index('ix_valuations_latest', table_name='valuations')
    op.drop_index(op.f('ix_valuations_inputs_hash'), table_name='valuations')
    op.drop_table('valuations')
    op.drop_index('ix_valuation_license_comparables_pick',
                  table_name='valuation_license_comparables')
    op.drop_table('valuation_license_comparables')
