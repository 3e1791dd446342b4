"""Matching service."""

from __future__ import annotations

from fastapi import FastAPI

from services.matching.config import MatchingSettings
from services.matching.db import ENTERPRISES, KERNEL
from services.matching.demands.router import router as demands_router
from services.matching.demands.service import PERIODIC_TASKS as DEMAND_TASKS
from services.matching.engine import packs as engine_packs
from services.matching.engine.tokenize import warm_up
from services.matching.enterprises.handlers import HANDLERS as ENTERPRISE_HANDLERS
from services.matching.facts.handlers import HANDLERS as FACT_HANDLERS
from services.matching.licenses.router import router as licenses_router
from services.matching.matches.handlers import HANDLERS as MATCH_HANDLERS
from services.matching.matches.router import router as matches_router
from services.matching.matches.service import PERIODIC_TASKS as MATCH_TASKS
from services.matching.matchmaking.router import router as matchmaking_router
from services.matching.openlicenses import packs as open_license_packs
from services.matching.openlicenses.handlers import HANDLERS as OPEN_LICENSE_HANDLERS
from services.matching.openlicenses.router import router as open_licenses_router
from shared.app import combine_handlers, create_service_app
from shared.projections import enterprise_projection_router

DESCRIPTION = """
ipbridge **matching** — open-license declarations (专利开放许可, Patent Law Arts 50–52), the
technology demand library (技术需求库), the matching engine (Chinese text relevance, IPC
proximity, budget, region and industry fit, each score explained), pushes to enterprises
(精准推送), license grants and matchmaking events. Reacts to registry events through its own
projections; never reads another service's database. Money is in CNY yuan (元) as decimal
strings. Errors are RFC 9457 problem+json.
"""


def load_policy_packs(_app: FastAPI | None = None) -> None:
    """Load and validate matching's packs (a bad pack stops the start, named), and load jieba's
    dictionaries now rather than in the first search."""
    engine_packs.load()
    open_license_packs.load()
    warm_up()


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or MatchingSettings(), title="ipbridge matching", version="0.2.0",
        description=DESCRIPTION, tables=KERNEL,
        # projections first, then what reads them, in one transaction per event
        handlers=combine_handlers(ENTERPRISE_HANDLERS, FACT_HANDLERS, OPEN_LICENSE_HANDLERS,
                                  MATCH_HANDLERS),
        periodic=[*MATCH_TASKS, *DEMAND_TASKS], on_startup=load_policy_packs,
        routers=[enterprise_projection_router(ENTERPRISES), open_licenses_router,
                 demands_router, matches_router, licenses_router, matchmaking_router])
