"""/healthz (alive), /readyz (database and broker reachable), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz(request: Request) -> dict:
    return {"status": "ok", "service": request.app.state.settings.service_name}


async def _check_db(request: Request) -> str:
    async with request.app.state.sessionmaker() as session:
        await session.execute(sa.text("SELECT 1"))
    return "ok"


async def _check_broker(request: Request) -> str:
    runtime = request.app.state.runtime
    client = await runtime.metadata_client()
    await client.fetch_all_metadata()
    return "ok"


@router.get("/readyz", summary="Readiness: database and broker reachable")
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, check in (("database", _check_db), ("broker", _check_broker)):
        try:
            checks[name] = await asyncio.wait_for(check(request), 3)
        except Exception as exc:
            checks[name] = f"unavailable: {type(exc).__name__}: {exc}"[:300]
    ready = all(v == "ok" for v in checks.values())
    await request.app.state.runtime.refresh_backlog()
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503,
                        headers=None if ready else {"Retry-After": "5"})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    await request.app.state.runtime.refresh_backlog()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
