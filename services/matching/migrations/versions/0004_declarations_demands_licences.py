"""open-licence declarations, technology demands, licences, matchmaking events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('demands',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False, comment='the demanding enterprise'),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('technical_field', sa.String(length=500), nullable=True),
    sa.Column('ipc_hints', sa.JSON(), nullable=False, comment='normalised IPC symbols or prefixes (H01M, H01M 10/0525)'),
    sa.Column('industry_code', sa.String(length=5), nullable=True, comment='GB/T 4754-2017'),
    sa.Column('region_code', sa.String(length=6), nullable=True, comment='GB/T 2260'),
    sa.Column('budget_min_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('budget_max_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False, comment='open | closed'),
    sa.Column('close_reason', sa.String(length=12), nullable=True, comment='fulfilled | withdrawn | expired | other'),
    sa.Column('close_note', sa.String(length=1000), nullable=True),
    sa.Column('posted_by', sa.String(length=120), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('posted_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demands'))
    )
    op.create_index(op.f('ix_demands_changed_at'), 'demands', ['changed_at'], unique=False)
    op.create_index(op.f('ix_demands_deadline'), 'demands', ['deadline'], unique=False)
    op.create_index('ix_demands_posted', 'demands', ['posted_at', 'id'], unique=False)
    op.create_index(op.f('ix_demands_status'), 'demands', ['status'], unique=False)
    op.create_index(op.f('ix_demands_uscc'), 'demands', ['uscc'], unique=False)
    op.create_table('licenses',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('patent_kind', sa.String(length=20), nullable=False),
    sa.Column('ipc_codes', sa.JSON(), nullable=False),
    sa.Column('ipc_subclass', sa.String(length=4), nullable=True, comment='main IPC subclass, e.g. H01M'),
    sa.Column('open_license_id', sa.String(length=36), nullable=True),
    sa.Column('license_type', sa.String(length=10), nullable=False, comment='open | exclusive | sole | ordinary'),
    sa.Column('licensor_uscc', sa.String(length=18), nullable=True),
    sa.Column('licensor_name', sa.String(length=200), nullable=False),
    sa.Column('licensee_uscc', sa.String(length=18), nullable=True),
    sa.Column('licensee_name', sa.String(length=200), nullable=False),
    sa.Column('licensee_industry_code', sa.String(length=5), nullable=True),
    sa.Column('licensee_industry_division', sa.String(length=2), nullable=True, comment='GB/T 4754 division (2 digits): fee-guidance scope'),
    sa.Column('licensee_region_code', sa.String(length=6), nullable=True),
    sa.Column('payment_method', sa.String(length=24), nullable=False),
    sa.Column('lump_sum_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('entry_fee_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('royalty_rate', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('royalty_base', sa.String(length=12), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('notice_sent_on', sa.Date(), nullable=True, comment='written notice (Art 51)'),
    sa.Column('notice_reference', sa.String(length=200), nullable=True),
    sa.Column('payment_amount_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('payment_paid_on', sa.Date(), nullable=True),
    sa.Column('payment_reference', sa.String(length=200), nullable=True),
    sa.Column('contract_reference', sa.String(length=200), nullable=True),
    sa.Column('granted_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('recorded_by_department', sa.String(length=20), nullable=False, comment='department of the recording token (market_regulation, enterprise…)'),
    sa.Column('verified', sa.Boolean(), nullable=False, comment="open licence taken, or negotiated one recorded by market_regulation; a party's own record is not (never a price comparable)"),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licenses')),
    sa.UniqueConstraint('open_license_id', 'licensee_uscc', name='open_once_per_licensee')
    )
    op.create_index(op.f('ix_licenses_application_no'), 'licenses', ['application_no'], unique=False)
    op.create_index('ix_licenses_granted', 'licenses', ['granted_at', 'id'], unique=False)
    op.create_index(op.f('ix_licenses_ipc_subclass'), 'licenses', ['ipc_subclass'], unique=False)
    op.create_index(op.f('ix_licenses_licensee_industry_division'), 'licenses', ['licensee_industry_division'], unique=False)
    op.create_index(op.f('ix_licenses_licensee_uscc'), 'licenses', ['licensee_uscc'], unique=False)
    op.create_index(op.f('ix_licenses_licensor_uscc'), 'licenses', ['licensor_uscc'], unique=False)
    op.create_index(op.f('ix_licenses_open_license_id'), 'licenses', ['open_license_id'], unique=False)
    op.create_table('matchmaking_events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False, comment='roadshow | matchmaking | exhibition | online'),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('organiser', sa.String(length=200), nullable=False, comment="organiser's name"),
    sa.Column('organiser_department', sa.String(length=20), nullable=False),
    sa.Column('organiser_org', sa.String(length=40), nullable=True),
    sa.Column('open_license_ids', sa.JSON(), nullable=False),
    sa.Column('demand_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matchmaking_events'))
    )
    op.create_index(op.f('ix_matchmaking_events_held_on'), 'matchmaking_events', ['held_on'], unique=False)
    op.create_table('open_licenses',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False, comment='申请号, canonical (from PatentFact)'),
    sa.Column('patent_kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False, comment='declared | published | withdrawn | suspended | refused'),
    sa.Column('patentee_uscc', sa.String(length=18), nullable=True),
    sa.Column('patentee_name', sa.String(length=200), nullable=False),
    sa.Column('patentee_type', sa.String(length=20), nullable=False, comment='university | research_institute | enterprise | individual | other'),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('abstract', sa.Text(), nullable=True),
    sa.Column('claims', sa.Text(), nullable=True),
    sa.Column('technical_field', sa.String(length=500), nullable=True),
    sa.Column('application_scenarios', sa.Text(), nullable=True),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('ipc_codes', sa.JSON(), nullable=False),
    sa.Column('industry_codes', sa.JSON(), nullable=False, comment='GB/T 4754-2017 codes the licence targets'),
    sa.Column('ipc_index', sa.String(length=1000), nullable=False, comment='|H01M10/0525|… for prefix filters'),
    sa.Column('industry_index', sa.String(length=300), nullable=False, comment='|C3985|… for prefix filters'),
    sa.Column('payment_method', sa.String(length=24), nullable=False, comment='lump_sum | royalty | entry_fee_plus_royalty | free'),
    sa.Column('lump_sum_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('entry_fee_cny', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('royalty_rate', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('royalty_base', sa.String(length=12), nullable=True, comment='net_sales | profit'),
    sa.Column('payment_terms', sa.Text(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('grant_date', sa.Date(), nullable=True),
    sa.Column('evaluation_report_ref', sa.String(length=200), nullable=True),
    sa.Column('co_owner_consents', sa.JSON(), nullable=False),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('fee_guidance', sa.JSON(), nullable=False),
    sa.Column('suspension_reasons', sa.JSON(), nullable=False),
    sa.Column('declared_by', sa.String(length=120), nullable=True),
    sa.Column('published_by', sa.String(length=120), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=120), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('withdrawal_reason', sa.String(length=1000), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_licenses'))
    )
    op.create_index(op.f('ix_open_licenses_application_no'), 'open_licenses', ['application_no'], unique=False)
    op.create_index(op.f('ix_open_licenses_changed_at'), 'open_licenses', ['changed_at'], unique=False)
    op.create_index('ix_open_licenses_created', 'open_licenses', ['created_at', 'id'], unique=False)
    op.create_index(op.f('ix_open_licenses_patentee_uscc'), 'open_licenses', ['patentee_uscc'], unique=False)
    op.create_index(op.f('ix_open_licenses_status'), 'open_licenses', ['status'], unique=False)
    op.create_index('uq_open_licenses_live_patent', 'open_licenses', ['application_no'], unique=True, postgresql_where=sa.text("status IN ('declared', 'published', 'suspended')"), sqlite_where=sa.text("status IN ('declared', 'published', 'suspended')"))
    op.create_table('matchmaking_outcomes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('licensee_uscc', sa.String(length=18), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False, comment='intention | negotiating | licensed | no_deal'),
    sa.Column('license_id', sa.String(length=36), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('recorded_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['matchmaking_events.id'], name=op.f('fk_matchmaking_outcomes_event_id_matchmaking_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matchmaking_outcomes')),
    sa.UniqueConstraint('event_id', 'licensee_uscc', 'application_no', name='one_per_pair')
    )
    op.create_index(op.f('ix_matchmaking_outcomes_event_id'), 'matchmaking_outcomes', ['event_id'], unique=False)
    op.create_table('matchmaking_participants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False, comment='licensee | patentee | other'),
    sa.Column('registered_by', sa.String(length=120), nullable=False),
    sa.Column('registered_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['matchmaking_events.id'], name=op.f('fk_matchmaking_participants_event_id_matchmaking_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matchmaking_participants')),
    sa.UniqueConstraint('event_id', 'uscc', name='once_per_event')
    )
    op.create_index(op.f('ix_matchmaking_participants_event_id'), 'matchmaking_participants', ['event_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_matchmaking_participants_event_id'), table_name='matchmaking_participants')
    op.drop_table('matchmaking_participants')
    op.drop_index(op.f('ix_matchmaking_outcomes_event_id'), table_name='matchmaking_outcomes')
    op.drop_table('matchmaking_outcomes')
    op.drop_index('uq_open_licenses_live_patent', table_name='open_licenses')
    op.drop_index(op.f('ix_open_licenses_status'), table_name='open_licenses')
    op.drop_index(op.f('ix_open_licenses_patentee_uscc'), table_name='open_licenses')
    op.drop_index('ix_open_licenses_created', table_name='open_licenses')
    op.drop_index(op.f('ix_open_licenses_changed_at'), table_name='open_licenses')
    op.drop_index(op.f('ix_open_licenses_application_no'), table_name='open_licenses')
    op.drop_table('open_licenses')
    op.drop_index(op.f('ix_matchmaking_events_held_on'), table_name='matchmaking_events')
    op.drop_table('matchmaking_events')
    op.drop_index(op.f('ix_licenses_open_license_id'), table_name='licenses')
    op.drop_index(op.f('ix_licenses_licensor_uscc'), table_name='licenses')
    op.drop_index(op.f('ix_licenses_licensee_uscc'), table_name='licenses')
    op.drop_index(op.f('ix_licenses_licensee_industry_division'), table_name='licenses')
    op.drop_index(op.f('ix_licenses_ipc_subclass'), table_name='licenses')
    op.drop_index('ix_licenses_granted', table_name='licenses')
    op.drop_index(op.f('ix_licenses_application_no'), table_name='licenses')
    op.drop_table('licenses')
    op.drop_index(op.f('ix_demands_uscc'), table_name='demands')
    op.drop_index(op.f('ix_demands_status'), table_name='demands')
    op.drop_index('ix_demands_posted', table_name='demands')
    op.drop_index(op.f('ix_demands_deadline'), table_name='demands')
    op.drop_index(op.f('ix_demands_changed_at'), table_name='demands')
    op.drop_table('demands')
