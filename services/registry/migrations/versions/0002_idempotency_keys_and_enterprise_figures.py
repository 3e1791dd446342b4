"""idempotency keys and enterprise figures

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
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('employees', sa.Integer(), nullable=True, comment='从业人员 (persons)'))
        batch_op.add_column(sa.Column('revenue_10k_cny', sa.Numeric(precision=16, scale=2), nullable=True, comment='营业收入 (万元)'))
        batch_op.add_column(sa.Column('total_assets_10k_cny', sa.Numeric(precision=16, scale=2), nullable=True, comment='资产总额 (万元)'))
        batch_op.add_column(sa.Column('figures_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('size_class', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('size_basis', sa.Text(), nullable=True, comment='JSON: rules, figures, clause'))
        batch_op.add_column(sa.Column('updated_by', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_enterprises_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprises_size_class'), ['size_class'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprises_size_class'))
        batch_op.drop_index(batch_op.f('ix_enterprises_region_code'))
        batch_op.drop_column('updated_by')
        batch_op.drop_column('size_basis')
        batch_op.drop_column('size_class')
        batch_op.drop_column('figures_year')
        batch_op.drop_column('total_assets_10k_cny')
        batch_op.drop_column('revenue_10k_cny')
        batch_op.drop_column('employees')

    op.drop_table('idempotency_keys')
