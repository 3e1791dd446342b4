"""qualifications and credit flags

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23

A branch beside 0002 / 0004 (other domains of the registry); applied with ``upgrade heads``.
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qualifications',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('issuing_department', sa.String(length=30), nullable=False),
    sa.Column('issuing_body', sa.String(length=200), nullable=False, comment='发证机关'),
    sa.Column('certificate_no', sa.String(length=64), nullable=False, comment='证书编号'),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False, comment='last day of validity (inclusive)'),
    sa.Column('status', sa.String(length=10), nullable=False, comment='active | revoked | expired'),
    sa.Column('basis', sa.Text(), nullable=False, comment='JSON: pack, clauses, validity rule, checks; renewals appended'),
    sa.Column('renewal_count', sa.Integer(), nullable=False),
    sa.Column('revoked_on', sa.Date(), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('revoked_by', sa.String(length=120), nullable=True),
    sa.Column('expired_on', sa.Date(), nullable=True, comment='sweep date that marked it'),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uscc'], ['enterprises.uscc'], name=op.f('fk_qualifications_uscc_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualifications')),
    sa.UniqueConstraint('kind', 'certificate_no', name='uq_qualifications_kind_certificate_no')
    )
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.create_index('ix_qualifications_status_valid_to', ['status', 'valid_to'], unique=False)
        batch_op.create_index(batch_op.f('ix_qualifications_uscc'), ['uscc'], unique=False)

    op.create_table('credit_flags',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False, comment='who found it (信用中国, 税务 …)'),
    sa.Column('reference', sa.String(length=200), nullable=False, comment='decision / list entry number'),
    sa.Column('flagged_on', sa.Date(), nullable=False, comment='date of the finding'),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False, comment='active | cleared'),
    sa.Column('basis', sa.Text(), nullable=False, comment='JSON: consequences and their clauses'),
    sa.Column('raised_by', sa.String(length=120), nullable=False),
    sa.Column('cleared_on', sa.Date(), nullable=True),
    sa.Column('clearance_reason', sa.Text(), nullable=True),
    sa.Column('cleared_by', sa.String(length=120), nullable=True),
    sa.Column('cleared_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uscc'], ['enterprises.uscc'], name=op.f('fk_credit_flags_uscc_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_flags'))
    )
    with op.batch_alter_table('credit_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_flags_uscc'), ['uscc'], unique=False)
        batch_op.create_index('uq_credit_flags_active_finding', ['uscc', 'kind', 'reference'], unique=True, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))


def downgrade() -> None:
    with op.batch_alter_table('credit_flags', schema=None) as batch_op:
        batch_op.drop_index('uq_credit_flags_active_finding', postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_credit_flags_uscc'))

    op.drop_table('credit_flags')
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualifications_uscc'))
        batch_op.drop_index('ix_qualifications_status_valid_to')

    op.drop_table('qualifications')
