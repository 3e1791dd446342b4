"""pushes (once per enterprise and patent), the push queue, the index token cache

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('push_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('open_license_id', sa.String(length=36), nullable=True),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=120), nullable=False),
    sa.Column('requested_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False, comment='tries so far (the index lagging, or errors)'),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_requests'))
    )
    op.create_index(op.f('ix_push_requests_done_at'), 'push_requests', ['done_at'], unique=False)
    op.create_table('pushes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False, comment='the enterprise pushed to'),
    sa.Column('enterprise_name', sa.String(length=200), nullable=True),
    sa.Column('open_license_id', sa.String(length=36), nullable=False),
    sa.Column('application_no', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False, comment='demand | profile | pool_admission | officer'),
    sa.Column('demand_id', sa.String(length=36), nullable=True),
    sa.Column('pool_member', sa.Boolean(), nullable=False),
    sa.Column('pushed_by', sa.String(length=120), nullable=False),
    sa.Column('pushed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pushes')),
    sa.UniqueConstraint('uscc', 'application_no', name='once_per_patent')
    )
    op.create_index(op.f('ix_pushes_open_license_id'), 'pushes', ['open_license_id'], unique=False)
    op.create_index(op.f('ix_pushes_uscc'), 'pushes', ['uscc'], unique=False)
    op.create_table('index_tokens',
    sa.Column('open_license_id', sa.String(length=36), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('tokenizer_version', sa.String(length=64), nullable=False),
    sa.Column('tokens', sa.JSON(), nullable=False),
    sa.Column('stored_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('open_license_id', name=op.f('pk_index_tokens'))
    )


def downgrade() -> None:
    op.drop_table('index_tokens')
    op.drop_index(op.f('ix_pushes_uscc'), table_name='pushes')
    op.drop_index(op.f('ix_pushes_open_license_id'), table_name='pushes')
    op.drop_table('pushes')
    op.drop_index(op.f('ix_push_requests_done_at'), table_name='push_requests')
    op.drop_table('push_requests')
