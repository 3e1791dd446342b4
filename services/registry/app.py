"""Registry: the source of truth for enterprises, qualifications, IP and the cultivation pool."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry.config import RegistrySettings
from services.registry.db import KERNEL
from services.registry.enterprises.router import router as enterprises_router
from shared.app import create_service_app

DESCRIPTION = """
ipbridge **registry** — one owner of the truth about enterprises (统一社会信用代码), their
qualifications, patents and marks, patent-intensive products, credit flags and the
model-enterprise cultivation pool. Every change is published on `registry.enterprise.v1` /
`registry.ip.v1` (CloudEvents, binary mode). Errors are RFC 9457 problem+json.
"""


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or RegistrySettings(), title="ipbridge registry", version="0.1.0",
        description=DESCRIPTION, tables=KERNEL, routers=[enterprises_router])
