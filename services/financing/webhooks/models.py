"""Webhook subscriptions of banks without Kafka, and the delivery queue / log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.financing.db import Base
from shared.db import UTCDateTime

ACTIVE = "active"
PENDING = "pending"


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        # One live subscription per bank and URL: a retried create is a 409 naming the first.
        sa.Index("uq_webhook_subscriptions_active_url", "bank_code", "url", unique=True,
                 postgresql_where=sa.text("status = 'active'"),
                 sqlite_where=sa.text("status = 'active'")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    bank_code: Mapped[str] = mapped_column(sa.String(40), index=True,
                                           comment="the owning bank (org claim of its tokens)")
    url: Mapped[str] = mapped_column(sa.String(2000))
    event_types: Mapped[list[str]] = mapped_column(sa.JSON, comment="as subscribed, sorted")
    description: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(10), comment="active | deleted")
    secret: Mapped[str] = mapped_column(
        sa.String(200), comment="whsec_ signing secret, sealed (fernet:…) with FINANCING_WEBHOOK_SECRET_KEY")
    secret_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookSubscriptionType(Base):
    """One event type a subscription wants: the index ``enqueue`` joins on."""

    __tablename__ = "webhook_subscription_types"
    __table_args__ = (sa.Index("ix_webhook_subscription_types_event_type", "event_type"),)

    subscription_id: Mapped[str] = mapped_column(
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), primary_key=True)
    event_type: Mapped[str] = mapped_column(sa.String(120), primary_key=True)


class WebhookDelivery(Base):
    """One event to POST to one subscription: the queue while pending, the log afterwards."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The claim: due pending rows in id order.
        sa.Index("ix_webhook_deliveries_due", "next_attempt_at",
                 postgresql_where=sa.text("status = 'pending'"),
                 sqlite_where=sa.text("status = 'pending'")),
        # Per-subscription order: "is an older delivery for this subject still pending?"
        sa.Index("ix_webhook_deliveries_subscription_subject", "subscription_id", "subject",
                 "id"),
        # The delivery log, newest first.
        sa.Index("ix_webhook_deliveries_subscription_id", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(36), comment="CloudEvent id = Webhook-Id")
    event_type: Mapped[str] = mapped_column(sa.String(120))
    subject: Mapped[str] = mapped_column(sa.String(64), comment="ordering key (the USCC)")
    body: Mapped[str] = mapped_column(sa.Text, comment="structured-mode CloudEvent JSON, as sent")
    status: Mapped[str] = mapped_column(sa.String(10),
                                        comment="pending | delivered | failed | cancelled")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    replay_of: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        comment="the delivery this one re-queues (replay)")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="when it became delivered, failed or cancelled")
