"""webhooks: bank subscriptions and the signed-delivery queue / log

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('bank_code', sa.String(length=40), nullable=False, comment='the owning bank (org claim of its tokens)'),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False, comment='as subscribed, sorted'),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False, comment='active | deleted'),
    sa.Column('secret', sa.String(length=200), nullable=False, comment='whsec_ signing secret, sealed (fernet:…) with FINANCING_WEBHOOK_SECRET_KEY'),
    sa.Column('secret_version', sa.Integer(), nullable=False),
    sa.Column('secret_rotated_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_index(op.f('ix_webhook_subscriptions_bank_code'), 'webhook_subscriptions', ['bank_code'], unique=False)
    op.create_index('uq_webhook_subscriptions_active_url', 'webhook_subscriptions', ['bank_code', 'url'], unique=True, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False, comment='CloudEvent id = Webhook-Id'),
    sa.Column('event_type', sa.String(length=120), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False, comment='ordering key (the USCC)'),
    sa.Column('body', sa.Text(), nullable=False, comment='structured-mode CloudEvent JSON, as sent'),
    sa.Column('status', sa.String(length=10), nullable=False, comment='pending | delivered | failed | cancelled'),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_token', sa.String(length=32), nullable=True),
    sa.Column('lease_until', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('replay_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='the delivery this one re-queues (replay)'),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', shared.db.UTCDateTime(timezone=True), nullable=True, comment='when it became delivered, failed or cancelled'),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_index('ix_webhook_deliveries_subscription_id', 'webhook_deliveries', ['subscription_id', 'id'], unique=False)
    op.create_index('ix_webhook_deliveries_subscription_subject', 'webhook_deliveries', ['subscription_id', 'subject', 'id'], unique=False)
    op.create_table('webhook_subscription_types',
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_subscription_types_subscription_id_webhook_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscription_id', 'event_type', name=op.f('pk_webhook_subscription_types'))
    )
    op.create_index('ix_webhook_subscription_types_event_type', 'webhook_subscription_types', ['event_type'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_subscription_types_event_type',
                  table_name='webhook_subscription_types')
    op.drop_table('webhook_subscription_types')
    op.drop_index('ix_webhook_deliveries_subscription_subject', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_subscription_id', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries',
                  postgresql_where=sa.text("status = 'pending'"),
                  sqlite_where=sa.text("status = 'pending'"))
    op.drop_table('webhook_deliveries')
    op.drop_index('uq_webhook_subscriptions_active_url', table_name='webhook_subscriptions',
                  postgresql_where=sa.text("status = 'active'"),
                  sqlite_where=sa.text("status = 'active'"))
    op.drop_index(op.f('ix_webhook_subscriptions_bank_code'), table_name='webhook_subscriptions')
    op.drop_table('webhook_subscriptions')
