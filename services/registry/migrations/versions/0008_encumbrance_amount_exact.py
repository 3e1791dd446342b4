"""encumbrance amounts in 万元 with six places (exact for any yuan amount in fen)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patent_encumbrances", schema=None) as batch_op:
        batch_op.alter_column("amount_10k_cny", existing_type=sa.Numeric(16, 2),
                              type_=sa.Numeric(18, 6), existing_nullable=True,
                              comment="万元; six places hold any yuan amount exactly")


def downgrade() -> None:
    with op.batch_alter_table("patent_encumbrances", schema=None) as batch_op:
        batch_op.alter_column("amount_10k_cny", existing_type=sa.Numeric(18, 6),
                              type_=sa.Numeric(16, 2), existing_nullable=True, comment=None)
