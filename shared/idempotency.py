"""Idempotency-Key on creates (IETF draft "The Idempotency-Key HTTP Header Field").

The first request with a key stores its response in the same transaction as its effect; a
retry with the same key and the same body gets that stored response again (header
``Idempotent-Replayed: true``) and changes nothing. The same key with a different body is 422;
two concurrent requests with one key: the second's commit fails on the key and gets 409.
Keys are scoped to the caller (token subject), the method and the concrete path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import UTCDateTime, utcnow
from shared.errors import InvalidInput

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def idempotency_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "idempotency_keys", metadata,
        sa.Column("scope", sa.String(300), primary_key=True, comment="caller subject + route"),
        sa.Column("key", sa.String(MAX_KEY_LENGTH), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
        sa.Column("response_headers", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


@dataclass
class IdempotentRequest:
    table: sa.Table
    scope: str
    key: str | None
    request_hash: str
    replay: JSONResponse | None = None

    async def record(self, session: AsyncSession, status_code: int, body: Any,
                     headers: dict[str, str]) -> None:
        """Store the response beside the effect (same transaction); no-op without a key."""
        if self.key is None:
            return
        await session.execute(sa.insert(self.table).values(
            scope=self.scope, key=self.key, request_hash=self.request_hash,
            status_code=status_code, response_body=json.dumps(body, ensure_ascii=False,
                                                              default=str),
            response_headers=json.dumps(headers), created_at=utcnow()))


async def begin(session: AsyncSession, table: sa.Table, request: Request, caller: Principal,
                body: Any) -> IdempotentRequest:
    """Look the key up; when it was used with the same body, ``replay`` holds the response."""
    key = request.headers.get(HEADER)
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    scope = f"{caller.subject}|{request.method} {request.url.path}"
    if key is None:
        return IdempotentRequest(table, scope, None, digest)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput("header.Idempotency-Key", "idempotency_key.format",
                           f"1 to {MAX_KEY_LENGTH} characters", message_zh="幂等键长度应为1-255")
    row = (await session.execute(sa.select(table).where(table.c.scope == scope,
                                                        table.c.key == key))).first()
    if row is None:
        return IdempotentRequest(table, scope, key, digest)
    if row.request_hash != digest:
        raise InvalidInput("header.Idempotency-Key", "idempotency_key.reused",
                           "this key was already used with a different request body",
                           message_zh="该幂等键已用于不同的请求内容")
    headers = json.loads(row.response_headers) | {"Idempotent-Replayed": "true"}
    return IdempotentRequest(table, scope, key, digest, replay=JSONResponse(
        json.loads(row.response_body), status_code=row.status_code, headers=headers))


async def respond_once(session: AsyncSession, table: sa.Table, request: Request,
                       caller: Principal, body: Any,
                       produce: Callable[[], Awaitable[tuple[Any, dict[str, str]]]],
                       *, status: int = 201) -> JSONResponse:
    """Run ``produce`` once per Idempotency-Key: it makes the effect and returns (content,
    headers); the response is stored beside the effect and replayed for the same key and body."""
    idem = await begin(session, table, request, caller, body)
    if idem.replay is not None:
        return idem.replay
    content, headers = await produce()
    content = jsonable_encoder(content)
    await idem.record(session, status, content, headers)
    return JSONResponse(content, status_code=status, headers=headers)


def location(status: int, url: str) -> dict[str, str]:
    """``Location`` for a create (201), ``Content-Location`` for an action's result."""
    return {"Location" if status == 201 else "Content-Location": url}
