"""Registry: the source of truth for enterprises, qualifications, IP and the cultivation pool."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry.config import RegistrySettings
from services.registry.creditflags.router import router as creditflags_router
from services.registry.enterprises.router import router as enterprises_router
from services.registry.patents.router import router as patents_router
from services.registry.pool import service as pool_service
from services.registry.pool.router import router as pool_router
from services.registry.products.router import router as products_router
from services.registry.qualifications.router import router as qualifications_router
from services.registry.db import KERNEL
from services.registry.enterprises.sizing import size_packs
from services.registry.patents import handlers as encumbrance_handlers
from services.registry.patents import service as patents_service
from services.registry.patents.high_value import high_value_packs
from services.registry.patents.rules import term_packs
from services.registry.qualifications import service as qualifications_service
from shared.app import create_service_app

DESCRIPTION = """
ipbridge **registry** — one owner of the truth about enterprises (统一社会信用代码), their
qualifications, patents and marks, patent-intensive products, credit flags and the
model-enterprise cultivation pool. Every change is published on `registry.enterprise.v1` /
`registry.ip.v1` (CloudEvents, binary mode). Errors are RFC 9457 problem+json.
"""


def load_policy_packs(_app: FastAPI | None = None) -> None:
    """Load and validate every registry policy pack: a bad pack stops the start, named."""
    size_packs()
    qualifications_service.load_packs()
    high_value_packs()
    term_packs()
    pool_service.pool_packs()


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or RegistrySettings(), title="ipbridge registry", version="0.1.0",
        description=DESCRIPTION, tables=KERNEL, on_startup=load_policy_packs,
        handlers=encumbrance_handlers.HANDLERS,
        periodic=[*qualifications_service.PERIODIC_TASKS, *patents_service.PERIODIC_TASKS,
                  *encumbrance_handlers.PERIODIC_TASKS, *pool_service.PERIODIC_TASKS],
        routers=[enterprises_router, qualifications_router, creditflags_router, patents_router,
                 products_router, pool_router])
