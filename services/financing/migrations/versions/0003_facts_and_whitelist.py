"""financing facts (projections of registry events) and the whitelist

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
    op.create_table('co_owner_consents',
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('owner_key', sa.String(length=200), nullable=False),
    sa.Column('for_uscc', sa.String(length=18), nullable=False, comment='the co-owner who may pledge with this consent'),
    sa.Column('document_ref', sa.String(length=200), nullable=False, comment='consent letter reference'),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('recorded_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('application_no', 'owner_key', name=op.f('pk_co_owner_consents'))
    )
    op.create_table('credit_flag_facts',
    sa.Column('flag_id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('flagged_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False, comment='active | cleared'),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('flag_id', name=op.f('pk_credit_flag_facts'))
    )
    op.create_index(op.f('ix_credit_flag_facts_uscc'), 'credit_flag_facts', ['uscc'], unique=False)
    op.create_table('patent_facts',
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('patent_no', sa.String(length=24), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False, comment='invention | utility_model | design | pct_*'),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('ipc_codes', sa.JSON(), nullable=False),
    sa.Column('owners', sa.JSON(), nullable=False, comment="[{uscc|null, name, share}] in the registry's order"),
    sa.Column('filing_date', sa.Date(), nullable=False),
    sa.Column('grant_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False, comment='pending | granted | lapsed | invalidated | expired'),
    sa.Column('status_date', sa.Date(), nullable=True),
    sa.Column('in_force', sa.Boolean(), nullable=False, comment="as of the event's date"),
    sa.Column('term_ends_on', sa.Date(), nullable=True),
    sa.Column('annual_fee_status', sa.String(length=20), nullable=True),
    sa.Column('suspended', sa.Boolean(), nullable=False, comment='procedures suspended (Rules 103-105)'),
    sa.Column('high_value', sa.Boolean(), nullable=False),
    sa.Column('high_value_categories', sa.JSON(), nullable=False),
    sa.Column('strategic_emerging_industry', sa.Boolean(), nullable=True),
    sa.Column('family_granted_abroad', sa.Integer(), nullable=False),
    sa.Column('awards', sa.JSON(), nullable=False),
    sa.Column('encumbrances', sa.JSON(), nullable=False, comment="registry's summary: pledged, pledgees, licences by type"),
    sa.Column('registry_pledged', sa.Boolean(), nullable=False, comment='a pledge is registered (any pledgee)'),
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
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uscc', name=op.f('pk_pool_facts'))
    )
    op.create_table('qualification_facts',
    sa.Column('qualification_id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=True),
    sa.Column('issuing_body', sa.String(length=200), nullable=True),
    sa.Column('certificate_no', sa.String(length=64), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False, comment='active | revoked | expired'),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.String(length=64), nullable=False),
    sa.Column('projected_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('qualification_id', name=op.f('pk_qualification_facts'))
    )
    op.create_index(op.f('ix_qualification_facts_uscc'), 'qualification_facts', ['uscc'], unique=False)
    op.create_table('whitelist_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=10), nullable=False, comment='added | updated | removed'),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('tier_code', sa.String(length=30), nullable=True),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('cause', sa.String(length=80), nullable=False),
    sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whitelist_changes'))
    )
    op.create_index(op.f('ix_whitelist_changes_uscc'), 'whitelist_changes', ['uscc'], unique=False)
    op.create_table('whitelist_entries',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('tier_code', sa.String(length=30), nullable=True),
    sa.Column('tier_rank', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('industry_code', sa.String(length=5), nullable=True),
    sa.Column('size_class', sa.String(length=10), nullable=True),
    sa.Column('tier', sa.JSON(), nullable=True),
    sa.Column('patents', sa.JSON(), nullable=False, comment='pledgeable patents with their latest valuation'),
    sa.Column('basis', sa.JSON(), nullable=False, comment='rules, figures, clauses'),
    sa.Column('pack', sa.String(length=40), nullable=False, comment='id@vN that decided'),
    sa.Column('packs', sa.String(length=120), nullable=False, comment='every pack the decision used (whitelist, pledge rules): a change of any of them re-evaluates the entry'),
    sa.Column('digest', sa.String(length=64), nullable=False, comment='hash of the published content (change test)'),
    sa.Column('revision', sa.Integer(), nullable=False, comment='published changes; 0: never'),
    sa.Column('listed_since', sa.Date(), nullable=True),
    sa.Column('cause', sa.String(length=80), nullable=False, comment='what triggered the evaluation'),
    sa.Column('evaluated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('uscc', name=op.f('pk_whitelist_entries'))
    )
    op.create_index(op.f('ix_whitelist_entries_changed_at'), 'whitelist_entries', ['changed_at'], unique=False)
    op.create_index('ix_whitelist_entries_listed_province', 'whitelist_entries', ['listed', 'province_code', 'uscc'], unique=False)
    op.create_index('ix_whitelist_entries_listed_tier', 'whitelist_entries', ['listed', 'tier_rank', 'uscc'], unique=False)
    op.create_table('patent_owner_facts',
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('share', sa.String(length=8), nullable=True, comment='percent, decimal string'),
    sa.ForeignKeyConstraint(['application_no'], ['patent_facts.application_no'], name=op.f('fk_patent_owner_facts_application_no_patent_facts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('application_no', 'position', name=op.f('pk_patent_owner_facts'))
    )
    op.create_index(op.f('ix_patent_owner_facts_uscc'), 'patent_owner_facts', ['uscc'], unique=False)


def downgrade() -> None:
    op.drop_table('whitelist_changes')
    op.drop_table('whitelist_entries')
    op.drop_table('co_owner_consents')
    op.drop_table('pool_facts')
    op.drop_table('credit_flag_facts')
    op.drop_table('qualification_facts')
    op.drop_table('patent_owner_facts')
    op.drop_table('patent_facts')
