"""patent and pool facts: matching's projections of registry patents and pool membership

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('patent_facts',
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False, comment='invention | utility_model | design | pct_*'),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=True),
    sa.Column('ipc_codes', sa.JSON(), nullable=False, comment='normalised, main first'),
    sa.Column('owners', sa.JSON(), nullable=False, comment="[{uscc|null, name, share, region_code}] in the registry's order"),
    sa.Column('filing_date', sa.Date(), nullable=False),
    sa.Column('grant_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False, comment='pending | granted | lapsed | invalidated | expired'),
    sa.Column('in_force', sa.Boolean(), nullable=False, comment="as of the event's date"),
    sa.Column('term_ends_on', sa.Date(), nullable=True),
    sa.Column('annual_fee_status', sa.String(length=20), nullable=True),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('high_value', sa.Boolean(), nullable=False),
    sa.Column('encumbrances', sa.JSON(), nullable=False, comment="registry's summary: pledged, pledgee consent, licences by type"),
    sa.Column('blockers', sa.JSON(), nullable=False, comment="registry's open_license_blockers (Rule 86 grounds, not in force)"),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('application_no', name=op.f('pk_patent_facts'))
    )
    op.create_table('pool_facts',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False, comment='admitted | graduated | removed'),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('admitted_on', sa.Date(), nullable=True),
    sa.Column('changed_on', sa.Date(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uscc', name=op.f('pk_pool_facts'))
    )
    op.create_table('patent_owner_facts',
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['application_no'], ['patent_facts.application_no'], name=op.f('fk_patent_owner_facts_application_no_patent_facts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('application_no', 'position', name=op.f('pk_patent_owner_facts'))
    )
    op.create_index(op.f('ix_patent_owner_facts_uscc'), 'patent_owner_facts', ['uscc'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_patent_owner_facts_uscc'), table_name='patent_owner_facts')
    op.drop_table('patent_owner_facts')
    op.drop_table('pool_facts')
    op.drop_table('patent_facts')
