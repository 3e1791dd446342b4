"""Matching service."""

from __future__ import annotations

from fastapi import FastAPI

from services.matching.config import MatchingSettings
from services.matching.db import ENTERPRISES, KERNEL
from services.matching.enterprises.handlers import HANDLERS
from shared.app import create_service_app
from shared.projections import enterprise_projection_router

DESCRIPTION = """
ipbridge **matching** — open-license declarations (专利开放许可), the technology demand library (技术需求库), matching and pushes, license grants. Reacts to registry and financing events through its own projections.
Errors are RFC 9457 problem+json.
"""


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or MatchingSettings(), title="ipbridge matching", version="0.1.0",
        description=DESCRIPTION, tables=KERNEL, handlers=HANDLERS,
        routers=[enterprise_projection_router(ENTERPRISES)])
