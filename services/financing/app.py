"""Financing service."""

from __future__ import annotations

from fastapi import FastAPI

from services.financing.config import FinancingSettings
from services.financing.db import ENTERPRISES, KERNEL
from services.financing.enterprises.handlers import HANDLERS
from shared.app import create_service_app
from shared.projections import enterprise_projection_router

DESCRIPTION = """
ipbridge **financing** — the pledge-financing whitelist banks consume (`financing.whitelist.v1`), patent valuations, pledge loans, bank credit quotas and the risk-compensation fund. Reacts to registry and matching events through its own projections.
Errors are RFC 9457 problem+json.
"""


def create_app(settings: FinancingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or FinancingSettings(), title="ipbridge financing", version="0.1.0",
        description=DESCRIPTION, tables=KERNEL, handlers=HANDLERS,
        routers=[enterprise_projection_router(ENTERPRISES)])
