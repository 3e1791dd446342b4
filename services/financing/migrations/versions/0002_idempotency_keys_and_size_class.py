"""idempotency keys; size class in the enterprise projection

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('scope', sa.String(length=300), nullable=False, comment='caller subject + route'),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('response_headers', sa.Text(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('enterprise_projection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size_class', sa.String(length=10), nullable=True, comment='SME size class as classified by the registry'))



def downgrade() -> None:
    with op.batch_alter_table('enterprise_projection', schema=None) as batch_op:
        batch_op.drop_column('size_class')

    op.drop_table('idempotency_keys')
