"""the cultivation pool (样板企业培育库): entries, nominations, movements, province locks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pool_provinces',
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('touched_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('province_code', name=op.f('pk_pool_provinces'))
    )
    op.create_table('pool_entries',
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('nomination_id', sa.String(length=36), nullable=False, comment='the admitting nomination'),
    sa.Column('admitted_on', sa.Date(), nullable=False),
    sa.Column('window_ends_on', sa.Date(), nullable=False, comment='last day of the two-year progress window (Civil Code counting)'),
    sa.Column('window_check', sa.String(length=10), nullable=False, comment='pending | passed: whether the two-year rule was checked'),
    sa.Column('window_basis', sa.JSON(), nullable=True, comment='the two-year check once made: progress found inside the window'),
    sa.Column('baseline_patents_held', sa.Integer(), nullable=False),
    sa.Column('baseline_patents_industrialised', sa.Integer(), nullable=False),
    sa.Column('admission_basis', sa.JSON(), nullable=False),
    sa.Column('quota_override_reason', sa.Text(), nullable=True),
    sa.Column('graduated_on', sa.Date(), nullable=True),
    sa.Column('graduation_basis', sa.JSON(), nullable=True),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('removal_reason', sa.String(length=40), nullable=True),
    sa.Column('removal_basis', sa.JSON(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('admitted', 'graduated', 'removed')", name=op.f('ck_pool_entries_status')),
    sa.ForeignKeyConstraint(['uscc'], ['enterprises.uscc'], name=op.f('fk_pool_entries_uscc_enterprises')),
    sa.PrimaryKeyConstraint('uscc', name=op.f('pk_pool_entries'))
    )
    op.create_index('ix_pool_entries_province_status', 'pool_entries', ['province_code', 'status'], unique=False)
    op.create_table('pool_movements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('basis', sa.JSON(), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False, comment='the entry revision it made'),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('admitted', 'graduated', 'removed')", name=op.f('ck_pool_movements_kind')),
    sa.ForeignKeyConstraint(['uscc'], ['enterprises.uscc'], name=op.f('fk_pool_movements_uscc_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_movements'))
    )
    op.create_index('ix_pool_movements_province_kind', 'pool_movements', ['province_code', 'kind'], unique=False)
    op.create_index(op.f('ix_pool_movements_uscc'), 'pool_movements', ['uscc'], unique=False)
    op.create_table('pool_nominations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('nominated_on', sa.Date(), nullable=False),
    sa.Column('nominated_by', sa.String(length=120), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=True, comment='推荐意见'),
    sa.Column('patents_held', sa.Integer(), nullable=False, comment='有效专利 at nomination'),
    sa.Column('patents_industrialised', sa.Integer(), nullable=False, comment='已产业化专利 at nomination'),
    sa.Column('industrialisation_evidence', sa.String(length=500), nullable=True),
    sa.Column('quota_override_reason', sa.Text(), nullable=True),
    sa.Column('basis', sa.JSON(), nullable=False, comment='entry and quota rules'),
    sa.Column('co_signing_department', sa.String(length=30), nullable=True),
    sa.Column('co_signed_by', sa.String(length=120), nullable=True),
    sa.Column('co_signed_on', sa.Date(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('awaiting_co_signature', 'admitted', 'declined')", name=op.f('ck_pool_nominations_status')),
    sa.ForeignKeyConstraint(['uscc'], ['enterprises.uscc'], name=op.f('fk_pool_nominations_uscc_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_nominations'))
    )
    op.create_index(op.f('ix_pool_nominations_province_code'), 'pool_nominations', ['province_code'], unique=False)
    op.create_index(op.f('ix_pool_nominations_uscc'), 'pool_nominations', ['uscc'], unique=False)
    op.create_index('uq_pool_nominations_open', 'pool_nominations', ['uscc'], unique=True, postgresql_where=sa.text("status = 'awaiting_co_signature'"), sqlite_where=sa.text("status = 'awaiting_co_signature'"))
    op.create_index(op.f('ix_patent_encumbrances_licensee_uscc'), 'patent_encumbrances', ['licensee_uscc'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table('patent_encumbrances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patent_encumbrances_licensee_uscc'))
    op.drop_table('pool_nominations')
    op.drop_table('pool_movements')
    op.drop_table('pool_entries')
    op.drop_table('pool_provinces')
