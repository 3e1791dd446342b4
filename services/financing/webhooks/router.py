"""HTTP for webhooks: a bank manages its own subscriptions, reads its delivery log, replays."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.financing.db import KERNEL
from services.financing.webhooks import service
from services.financing.webhooks.config import WebhookSettings
from services.financing.webhooks.schemas import (SIGNING_DOC, DeliveryList, DeliveryRead,
                                                 DeliveryStatus, ReplayRequest, ReplayResult,
                                                 SecretRotated, WebhookCreate, WebhookCreated,
                                                 WebhookList, WebhookRead)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Principal, require

router = APIRouter(tags=["webhooks"])

BankCaller = Annotated[Principal, Depends(require(scopes=("webhooks:write",),
                                                  departments=("bank",)))]
WEBHOOK_ID = Annotated[str, Path(min_length=1, max_length=36,
                                 description="Webhook subscription id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No active subscription with this id belongs to the calling bank"}}


CREATE_DOC = (
    "For banks without Kafka. Whitelist events go to every subscribed bank; loan, pledge, "
    "valuation and compensation events only to the lending bank. Deliveries are CloudEvents in "
    "structured JSON (`application/cloudevents+json`), retried with backoff, in order per "
    "enterprise. The signing secret is returned only here. " + SIGNING_DOC)


@router.post("/webhooks", status_code=201, response_model=WebhookCreated,
             description=CREATE_DOC,
             responses={409: {"description": "This bank already subscribes this URL"},
                        422: {"description": "Bad URL or event type (problem+json names the "
                                             "field and the rule)"}},
             summary="Subscribe an HTTPS endpoint to financing events (bank)")
async def create_webhook(body: WebhookCreate, session: DbSession, caller: BankCaller,
                         request: Request) -> JSONResponse:
    """Register a webhook subscription; the response holds the secret, once."""
    subscription, secret = await service.create(session, body, caller,
                                                 env=request.app.state.settings.env)
    content = jsonable_encoder(WebhookCreated(**service.read_model(subscription), secret=secret))
    return JSONResponse(content, status_code=201, headers={
        "Location": f"/v1/webhooks/{subscription.id}", "Cache-Control": "no-store"})


@router.get("/webhooks", response_model=WebhookList, summary="This bank's active subscriptions")
async def list_webhooks(session: DbSession, caller: BankCaller) -> WebhookList:
    """Only the calling bank's (the token's org); secrets are never shown again."""
    rows = await service.list_own(session, caller)
    return WebhookList(items=[WebhookRead(**service.read_model(s)) for s in rows])


@router.get("/webhooks/{webhook_id}", response_model=WebhookRead, responses=NOT_FOUND,
            summary="One subscription of this bank")
async def read_webhook(webhook_id: WEBHOOK_ID, session: DbSession,
                       caller: BankCaller) -> WebhookRead:
    """Another bank's subscription is a 404."""
    return WebhookRead(**service.read_model(await service.own_or_404(session, webhook_id,
                                                                     caller)))


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=NOT_FOUND,
               summary="Delete a subscription; its pending deliveries are cancelled")
async def delete_webhook(webhook_id: WEBHOOK_ID, session: DbSession,
                         caller: BankCaller) -> Response:
    """Pending deliveries end as ``cancelled``; a deleted subscription is no longer listed."""
    subscription = await service.own_or_404(session, webhook_id, caller, for_update=True)
    await service.delete(session, subscription)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/secret-rotation", response_model=SecretRotated,
             responses=NOT_FOUND, summary="Issue a new signing secret (the old one stops)")
async def rotate_webhook_secret(webhook_id: WEBHOOK_ID, session: DbSession,
                                caller: BankCaller) -> JSONResponse:
    """Every attempt from this moment is signed with the new secret only, retries of older
    deliveries included: update the receiver first, then rotate (no grace period)."""
    subscription = await service.own_or_404(session, webhook_id, caller, for_update=True)
    secret = await service.rotate_secret(session, subscription)
    content = jsonable_encoder(SecretRotated(
        id=subscription.id, secret=secret, secret_version=subscription.secret_version,
        rotated_at=subscription.secret_rotated_at))
    return JSONResponse(content, headers={"Cache-Control": "no-store"})


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList,
            responses=NOT_FOUND, summary="The delivery log, newest first")
async def list_deliveries(
    webhook_id: WEBHOOK_ID, session: DbSession, caller: BankCaller,
    status: Annotated[DeliveryStatus | None, Query(
        description="pending | delivered | failed | cancelled")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    """Status, attempts, the last HTTP status or error, and timestamps of each delivery."""
    subscription = await service.own_or_404(session, webhook_id, caller)
    rows, next_cursor = await service.deliveries(session, subscription, status=status,
                                                 cursor=cursor, limit=limit)
    return DeliveryList(items=[DeliveryRead(**service.delivery_model(d)) for d in rows],
                        next_cursor=next_cursor)


@router.post("/webhooks/{webhook_id}/replay", status_code=202, response_model=ReplayResult,
             responses={**NOT_FOUND, 422: {"description": "Both or neither of from / "
                                                          "delivery_ids, unknown ids, or more "
                                                          "than the replay bound"}},
             summary="Re-queue past deliveries (since a time, or by id)")
async def replay_webhook(webhook_id: WEBHOOK_ID, body: ReplayRequest, session: DbSession,
                         caller: BankCaller, request: Request,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """New deliveries of the same events (same Webhook-Id, freshly signed) go out behind
    anything pending for the same enterprise. Snapshots carry their revision: a receiver
    should ignore one older than what it holds."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller,
                                   body.model_dump(mode="json", by_alias=True))
    if idem.replay is not None:
        return idem.replay
    subscription = await service.own_or_404(session, webhook_id, caller)
    copies = await service.replay(session, subscription, body, WebhookSettings())
    content = jsonable_encoder(ReplayResult(requeued=len(copies),
                                            delivery_ids=[c.id for c in copies]))
    headers = {"Content-Location": f"/v1/webhooks/{webhook_id}/deliveries"}
    await idem.record(session, 202, content, headers)
    return JSONResponse(content, status_code=202, headers=headers)
