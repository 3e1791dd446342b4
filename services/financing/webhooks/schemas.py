"""Request and response bodies for webhooks (never the ORM classes)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

SIGNING_DOC = (
    "Each POST carries `Webhook-Id` (the CloudEvent id, the same on retries and replays), "
    "`Webhook-Timestamp` (Unix seconds) and `Webhook-Signature: v1=<hex>`: the hex HMAC-SHA256 "
    "of `{Webhook-Id}.{Webhook-Timestamp}.{raw body}` keyed with the 32 bytes the secret encodes "
    "(`whsec_` + base64). Reject timestamps more than 5 minutes from your clock.")


class WebhookCreate(BaseModel):
    """Subscribe an HTTPS endpoint of the calling bank to financing events."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=8, max_length=2000, examples=["https://bank.example/ipbridge"],
                     description="HTTPS endpoint that accepts `application/cloudevents+json` "
                                 "POSTs (plain http only to localhost in dev / test)")
    event_types: list[str] = Field(min_length=1, max_length=40, examples=[
        ["whitelist.entry_added", "whitelist.entry_updated", "whitelist.entry_removed"]],
        description="financing.whitelist.v1 types (every entry), and financing.loan.v1 loan, "
                    "pledge, valuation and compensation types (this bank's loans only)")
    description: str | None = Field(None, max_length=500)


class WebhookRead(BaseModel):
    id: str
    bank_code: str
    url: str
    event_types: list[str]
    description: str | None
    status: str = Field(description="active | deleted")
    secret_version: int = Field(description="1, +1 per rotation")
    secret_rotated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Signing secret, shown only in this response: store it. "
                                     + SIGNING_DOC)


class WebhookList(BaseModel):
    items: list[WebhookRead]


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="The new signing secret, shown once; the previous one no "
                                     "longer signs from this moment")
    secret_version: int
    rotated_at: datetime


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"


class DeliveryRead(BaseModel):
    id: int
    event_id: str = Field(description="CloudEvent id, sent as Webhook-Id")
    event_type: str
    subject: str = Field(description="The USCC the event concerns (deliveries with the same "
                                     "subject go out in order)")
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When pending: the next try")
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="HTTP status of the last attempt; null "
                                                     "when no response (timeout, refused)")
    last_error: str | None
    replay_of: int | None = Field(description="The delivery this one re-queued")
    created_at: datetime
    finished_at: datetime | None = Field(description="When it became delivered / failed / "
                                                     "cancelled")


class DeliveryList(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")


class ReplayRequest(BaseModel):
    """Re-queue past deliveries of this subscription: either everything created since ``from``,
    or the listed delivery ids. Pending ones are skipped (they are still on their way)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: datetime | None = Field(None, alias="from", description="Re-queue deliveries created "
                                   "at or after this instant (ISO 8601 with offset)")
    delivery_ids: list[int] | None = Field(None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _exactly_one(self) -> "ReplayRequest":
        if (self.from_ is None) == (self.delivery_ids is None):
            raise ValueError("give exactly one of 'from' or 'delivery_ids'")
        if self.from_ is not None and self.from_.tzinfo is None:
            raise ValueError("'from' needs a UTC offset (e.g. 2026-01-05T08:00:00+08:00)")
        return self


class ReplayResult(BaseModel):
    requeued: int
    delivery_ids: list[int] = Field(description="The new deliveries, in the order they go out")
