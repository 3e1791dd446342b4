"""annual evaluation: pool movements, patent states, loan milestones, pledges, licences

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluation_licences',
    sa.Column('license_id', sa.String(length=36), nullable=False),
    sa.Column('license_type', sa.String(length=10), nullable=False, comment='open | exclusive | sole | ordinary'),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('licensor_uscc', sa.String(length=18), nullable=True),
    sa.Column('licensee_uscc', sa.String(length=18), nullable=True),
    sa.Column('licensee_region_code', sa.String(length=6), nullable=True, comment='as the event gave it; null: resolved through the enterprise projection when evaluated'),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False, comment='granted_at, its day in China'),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('license_id', name=op.f('pk_evaluation_licences'))
    )
    op.create_index('ix_evaluation_licences_starts_on', 'evaluation_licences', ['starts_on'], unique=False)
    op.create_table('evaluation_loans',
    sa.Column('loan_id', sa.String(length=36), nullable=False),
    sa.Column('borrower_uscc', sa.String(length=18), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=False),
    sa.Column('green_channel', sa.Boolean(), nullable=False),
    sa.Column('decision_deadline', sa.Date(), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=True, comment='approved | rejected'),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decision_late', sa.Boolean(), nullable=True, comment='as financing said'),
    sa.Column('disbursed_on', sa.Date(), nullable=True),
    sa.Column('disbursed_amount_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False, comment='newest financing revision seen'),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('loan_id', name=op.f('pk_evaluation_loans'))
    )
    op.create_index('ix_evaluation_loans_decided_on', 'evaluation_loans', ['decided_on'], unique=False)
    op.create_index('ix_evaluation_loans_disbursed_on', 'evaluation_loans', ['disbursed_on'], unique=False)
    op.create_table('evaluation_patent_states',
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False, comment='status change: changed_on; registration / update: its day in China'),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('in_force', sa.Boolean(), nullable=False),
    sa.Column('high_value', sa.Boolean(), nullable=False),
    sa.Column('owner_uscc', sa.String(length=18), nullable=True, comment='first owner with a USCC'),
    sa.Column('owner_region_code', sa.String(length=6), nullable=True, comment='as the event or the enterprise projection gave it at receipt; null: resolved through the projection when evaluated'),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('application_no', 'revision', name=op.f('pk_evaluation_patent_states'))
    )
    op.create_index('ix_evaluation_patent_states_effective_on', 'evaluation_patent_states', ['effective_on'], unique=False)
    op.create_index('ix_evaluation_patent_states_owner_uscc', 'evaluation_patent_states', ['owner_uscc'], unique=False)
    op.create_table('evaluation_pledges',
    sa.Column('pledge_id', sa.String(length=36), nullable=False),
    sa.Column('loan_id', sa.String(length=36), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('pledgor_uscc', sa.String(length=18), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('secured_amount_cny', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pledge_id', name=op.f('pk_evaluation_pledges'))
    )
    op.create_index('ix_evaluation_pledges_registered_on', 'evaluation_pledges', ['registered_on'], unique=False)
    op.create_table('evaluation_pool_movements',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False, comment="registry's pool revision of the enterprise"),
    sa.Column('movement', sa.String(length=10), nullable=False),
    sa.Column('moved_on', sa.Date(), nullable=False, comment='admitted_on / graduated_on / removed_on of the event'),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('reason', sa.String(length=60), nullable=True, comment='removals: why'),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("movement IN ('admitted', 'graduated', 'removed')", name=op.f('ck_evaluation_pool_movements_movement')),
    sa.PrimaryKeyConstraint('uscc', 'revision', name=op.f('pk_evaluation_pool_movements'))
    )
    op.create_index('ix_evaluation_pool_movements_moved_on', 'evaluation_pool_movements', ['moved_on'], unique=False)


def downgrade() -> None:
    op.drop_table('evaluation_pool_movements')
    op.drop_table('evaluation_pledges')
    op.drop_table('evaluation_patent_states')
    op.drop_table('evaluation_loans')
    op.drop_table('evaluation_licences')
