"""encumbrance events: the newest pledge / licence event per reference, parked until its patent
is registered

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "encumbrance_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False,
                  comment="pledge id / licence id"),
        sa.Column("application_no", sa.String(length=16), nullable=False,
                  comment="申请号, canonical"),
        sa.Column("revision", sa.Integer(), nullable=False,
                  comment="the sender's revision (pledges); licences are granted once: 1"),
        sa.Column("state", sa.String(length=10), nullable=False, comment="pending | applied"),
        sa.Column("change", sa.JSON(), nullable=False, comment="the encumbrance to record"),
        sa.Column("amount_cny", sa.Numeric(precision=18, scale=2), nullable=True,
                  comment="secured amount in yuan, exactly as received"),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False,
                  comment="who sent it: type and event id"),
        sa.Column("received_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('pledge', 'licence')",
                           name=op.f("ck_encumbrance_events_kind")),
        sa.CheckConstraint("state IN ('pending', 'applied')",
                           name=op.f("ck_encumbrance_events_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encumbrance_events")),
        sa.UniqueConstraint("kind", "reference", name="uq_encumbrance_events_kind_reference"),
    )
    with op.batch_alter_table("encumbrance_events", schema=None) as batch_op:
        batch_op.create_index("ix_encumbrance_events_state_application_no",
                              ["state", "application_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("encumbrance_events", schema=None) as batch_op:
        batch_op.drop_index("ix_encumbrance_events_state_application_no")
    op.drop_table("encumbrance_events")
