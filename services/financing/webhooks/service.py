"""Webhooks for banks without Kafka: subscriptions, HMAC-signed deliveries, retries, replay.

A bank subscribes an endpoint to event types; :func:`enqueue` (called by
``services.financing.events.publish`` in the publisher's transaction) queues one delivery per
matching subscription beside the outbox row, so a webhook bank sees exactly the events a Kafka
bank sees, or none if the change rolled back. The dispatcher (``dispatcher.py``) sends them.

Who gets what: a ``financing.whitelist.v1`` event goes to every subscriber of its type (the
whitelist is pushed to all banks); a ``financing.loan.v1`` event only to subscriptions of the
bank the publisher names (``bank_code``): a bank sees only its own loans, and a loan-topic event
published without a bank goes to no bank. No FastAPI, no Kafka, no commit.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.webhooks import repository, signing
from services.financing.webhooks.config import WebhookSettings
from services.financing.webhooks.exceptions import (InvalidInput, NoBankCode, SubscriptionExists,
                                                    SubscriptionNotFound)
from services.financing.webhooks.models import (ACTIVE, PENDING, WebhookDelivery,
                                                WebhookSubscription)
from services.financing.webhooks.schemas import DeliveryStatus, ReplayRequest, WebhookCreate
from shared.auth import Principal
from shared.db import utcnow
from shared.events.catalogue import CATALOGUE
from shared.events.envelope import CloudEvent
from shared.pagination import decode_cursor, encode_cursor

log = structlog.get_logger("financing.webhooks")

WHITELIST_TOPIC = "financing.whitelist.v1"
LOAN_TOPIC = "financing.loan.v1"
#: Families on the loan topic that concern one lending bank (published with its bank code).
BANK_SCOPED_FAMILIES = ("loan.", "pledge.", "valuation.", "compensation.")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CLOUDEVENTS_JSON = "application/cloudevents+json; charset=utf-8"
_WAKE_FLAG = "ipbridge_webhooks_pending"


@cache
def subscribable_types() -> dict[str, str]:
    """Event type → topic, for every type a bank may subscribe to (from the catalogue)."""
    return {name: e.topic for name, e in sorted(CATALOGUE.items())
            if e.topic == WHITELIST_TOPIC
            or (e.topic == LOAN_TOPIC and name.startswith(BANK_SCOPED_FAMILIES))}


def bank_code_of(caller: Principal) -> str:
    if not caller.org:
        raise NoBankCode("a bank token must carry its bank code as the org claim",
                         detail_zh="银行令牌须包含银行代码（org）")
    return caller.org


# --- subscriptions ----------------------------------------------------------------------------

def check_url(url: str, env: str) -> str:
    """422 unless ``url`` is an absolute https URL without credentials (plain http to this
    machine only in dev / test; private IP literals refused in prod)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidInput("url", "url.format", f"not a URL: {exc}",
                           message_zh="URL 格式无效") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("url", "url.format", "an absolute http(s) URL with a host is required",
                           message_zh="须为带主机名的完整 URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url", "url.no_credentials",
                           "credentials in the URL would be stored and logged; authenticate "
                           "with the signature instead", message_zh="URL 中不得包含用户名或密码")
    if parts.fragment:
        raise InvalidInput("url", "url.no_fragment", "a webhook URL has no #fragment",
                           message_zh="URL 不得包含片段")
    if parts.scheme == "http" and not (env in ("dev", "test") and host in LOCAL_HOSTS):
        raise InvalidInput("url", "url.https_required",
                           "webhook URLs must use https (plain http is accepted only for "
                           "127.0.0.1 / localhost in dev and test)", message_zh="回调地址须使用 HTTPS")
    if env == "prod":
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and not address.is_global:
            raise InvalidInput("url", "url.public_host",
                               f"{host} is not a public address", message_zh="回调地址须为公网地址")
    return url


def check_event_types(requested: list[str]) -> list[str]:
    allowed = subscribable_types()
    for i, name in enumerate(requested):
        if name not in CATALOGUE:
            raise InvalidInput(f"event_types.{i}", "event_types.unknown",
                               f"{name!r} is not an event type of the catalogue",
                               message_zh="事件类型不存在", allowed=sorted(allowed))
        if name not in allowed:
            raise InvalidInput(f"event_types.{i}", "event_types.not_for_banks",
                               f"{name!r} ({CATALOGUE[name].topic}) cannot be subscribed to by a "
                               f"bank", message_zh="银行不可订阅该事件类型", allowed=sorted(allowed))
    if len(set(requested)) != len(requested):
        raise InvalidInput("event_types", "event_types.unique", "an event type is listed twice",
                           message_zh="事件类型重复")
    return sorted(requested)


def _sealed(secret: str) -> str:
    """The secret as stored: sealed with FINANCING_WEBHOOK_SECRET_KEY when one is set."""
    key = WebhookSettings().secret_key
    return signing.seal(secret, key.get_secret_value() if key else None)


async def create(session: AsyncSession, data: WebhookCreate, caller: Principal, *, env: str
                 ) -> tuple[WebhookSubscription, str]:
    """Register a subscription for the calling bank; returns it and its secret (shown once)."""
    bank_code = bank_code_of(caller)
    url = check_url(data.url, env)
    event_types = check_event_types(data.event_types)
    existing = await repository.active_by_url(session, bank_code, url)
    if existing is not None:
        raise SubscriptionExists(f"subscription {existing.id} already delivers to {url}; delete "
                                 "it first or use it", detail_zh="该回调地址已有有效订阅",
                                 subscription_id=existing.id)
    now = utcnow()
    secret = signing.new_secret()
    subscription = WebhookSubscription(
        id=str(uuid.uuid4()), bank_code=bank_code, url=url, event_types=event_types,
        description=data.description, status=ACTIVE, secret=_sealed(secret), secret_version=1,
        created_by=caller.subject, created_at=now, updated_at=now)
    repository.add_subscription(session, subscription)
    await session.flush()
    log.info("financing.webhook.subscribed", subscription_id=subscription.id,
             bank_code=bank_code, event_types=event_types)
    return subscription, secret


async def own_or_404(session: AsyncSession, subscription_id: str, caller: Principal, *,
                     for_update: bool = False) -> WebhookSubscription:
    """The caller's active subscription; another bank's is 404 (its existence is not told)."""
    subscription = await repository.get_subscription(session, subscription_id,
                                                     for_update=for_update)
    if (subscription is None or subscription.bank_code != bank_code_of(caller)
            or subscription.status != ACTIVE):
        raise SubscriptionNotFound(f"no active webhook subscription {subscription_id} of this "
                                   "bank", detail_zh="未找到本行的该回调订阅")
    return subscription


async def list_own(session: AsyncSession, caller: Principal) -> list[WebhookSubscription]:
    return await repository.list_active(session, bank_code_of(caller))


async def delete(session: AsyncSession, subscription: WebhookSubscription) -> int:
    """Stop a subscription; its pending deliveries are cancelled. Returns how many."""
    now = utcnow()
    subscription.status = "deleted"
    subscription.deleted_at = now
    subscription.updated_at = now
    await session.flush()
    cancelled = await repository.cancel_pending(session, subscription.id, now)
    log.info("financing.webhook.deleted", subscription_id=subscription.id, cancelled=cancelled)
    return cancelled


async def rotate_secret(session: AsyncSession, subscription: WebhookSubscription) -> str:
    """A new secret signs every attempt from now on; the old one stops at once."""
    now = utcnow()
    secret = signing.new_secret()
    subscription.secret = _sealed(secret)
    subscription.secret_version += 1
    subscription.secret_rotated_at = now
    subscription.updated_at = now
    await session.flush()
    log.info("financing.webhook.secret_rotated", subscription_id=subscription.id,
             secret_version=subscription.secret_version)
    return secret


def read_model(subscription: WebhookSubscription) -> dict[str, Any]:
    return {"id": subscription.id, "bank_code": subscription.bank_code, "url": subscription.url,
            "event_types": subscription.event_types, "description": subscription.description,
            "status": subscription.status, "secret_version": subscription.secret_version,
            "secret_rotated_at": subscription.secret_rotated_at,
            "created_at": subscription.created_at, "updated_at": subscription.updated_at}


# --- queueing ---------------------------------------------------------------------------------

def structured_body(event: CloudEvent) -> str:
    """The CloudEvent in structured JSON mode (``application/cloudevents+json``)."""
    envelope: dict[str, Any] = {
        "specversion": event.specversion, "id": event.id, "source": event.source,
        "type": event.type, "subject": event.subject, "time": event.time,
        "datacontenttype": event.datacontenttype, "dataschema": event.dataschema,
    }
    if event.correlationid:
        envelope["correlationid"] = event.correlationid
    envelope["data"] = event.data
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


async def enqueue(session: AsyncSession, event: CloudEvent, *, bank_code: str | None = None
                  ) -> int:
    """Queue ``event`` for every active subscription that wants its type (and, when
    ``bank_code`` is set, belongs to that bank), in the caller's transaction. Returns the number
    of deliveries queued. Loan-topic events go only to the named bank's subscriptions."""
    topic = subscribable_types().get(event.type)
    if topic is None or (topic == LOAN_TOPIC and bank_code is None):
        return 0
    queued = await repository.enqueue(session, event_id=event.id, event_type=event.type,
                                      subject=event.subject, body=structured_body(event),
                                      bank_code=bank_code, now=utcnow())
    if queued:
        session.info[_WAKE_FLAG] = True  # the dispatcher is woken after this commit
    return queued


def take_wake_flag(session_info: dict) -> bool:
    """Whether a committed transaction queued deliveries (read once, by the commit listener)."""
    return bool(session_info.pop(_WAKE_FLAG, False))


# --- the delivery log and replay --------------------------------------------------------------

async def deliveries(session: AsyncSession, subscription: WebhookSubscription, *,
                     status: DeliveryStatus | None, cursor: str | None, limit: int
                     ) -> tuple[list[WebhookDelivery], str | None]:
    """A page of the delivery log, newest first."""
    after = decode_cursor(cursor)
    try:
        before_id = int(after) if after is not None else None
    except ValueError as exc:
        raise InvalidInput("query.cursor", "cursor.invalid",
                           "not a cursor returned by this API (use next_cursor as given)",
                           message_zh="无效的分页游标") from exc
    rows = await repository.deliveries(session, subscription.id,
                                       status=status.value if status else None,
                                       before_id=before_id, limit=limit + 1)
    next_cursor = encode_cursor(str(rows[limit - 1].id)) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def replay(session: AsyncSession, subscription: WebhookSubscription, data: ReplayRequest,
                 settings: WebhookSettings) -> list[WebhookDelivery]:
    """Re-queue finished deliveries as new pending ones (same event, same Webhook-Id), oldest
    first, behind anything already pending for the same enterprise."""
    bound = settings.replay_max
    if data.delivery_ids is not None:
        wanted = list(dict.fromkeys(data.delivery_ids))
        unknown = sorted(set(wanted) - await repository.existing_ids(session, subscription.id,
                                                                     wanted))
        if unknown:
            raise InvalidInput("delivery_ids", "delivery_ids.unknown",
                               f"not deliveries of this subscription: {unknown[:20]}",
                               message_zh="投递记录不属于该订阅", unknown=unknown[:100])
        originals = await repository.replayable(session, subscription.id, ids=wanted,
                                                limit=len(wanted))
    else:
        originals = await repository.replayable(session, subscription.id, since=data.from_,
                                                limit=bound + 1)
        if len(originals) > bound:
            raise InvalidInput("from", "replay.too_many",
                               f"more than {bound} deliveries since {data.from_.isoformat()}; "
                               "choose a later 'from' or list delivery_ids",
                               message_zh=f"重放数量超过上限 {bound}，请缩小时间范围", limit=bound)
    now = utcnow()
    copies = [WebhookDelivery(subscription_id=subscription.id, event_id=o.event_id,
                              event_type=o.event_type, subject=o.subject, body=o.body,
                              status=PENDING, attempts=0, next_attempt_at=now, replay_of=o.id,
                              created_at=now) for o in originals]
    repository.add_deliveries(session, copies)
    await session.flush()
    if copies:
        session.info[_WAKE_FLAG] = True
    log.info("financing.webhook.replayed", subscription_id=subscription.id, count=len(copies))
    return copies


def delivery_model(d: WebhookDelivery) -> dict[str, Any]:
    return {"id": d.id, "event_id": d.event_id, "event_type": d.event_type,
            "subject": d.subject, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at if d.status == PENDING else None,
            "last_attempt_at": d.last_attempt_at, "last_status_code": d.last_status_code,
            "last_error": d.last_error, "replay_of": d.replay_of, "created_at": d.created_at,
            "finished_at": d.finished_at}


async def enqueue_many(session: AsyncSession, events: list[CloudEvent]) -> int:
    """``enqueue`` for a batch meant for every subscriber (the whitelist after a pack change):
    one query finds the subscribed types, and only their events are queued."""
    import sqlalchemy as sa

    from services.financing.webhooks.models import WebhookSubscription, WebhookSubscriptionType

    types = {e.type for e in events}
    if not types:
        return 0
    subscribed = set(await session.scalars(
        sa.select(WebhookSubscriptionType.event_type).distinct()
        .join(WebhookSubscription,
              WebhookSubscription.id == WebhookSubscriptionType.subscription_id)
        .where(WebhookSubscription.status == ACTIVE,
               WebhookSubscriptionType.event_type.in_(types))))
    queued = 0
    for event in events:
        if event.type in subscribed:
            queued += await enqueue(session, event)
    return queued
