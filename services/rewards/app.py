"""Rewards service."""

from __future__ import annotations

from fastapi import FastAPI

from services.rewards.config import RewardsSettings
from services.rewards.db import ENTERPRISES, KERNEL
from services.rewards.enterprises.handlers import HANDLERS
from shared.app import create_service_app
from shared.projections import enterprise_projection_router

DESCRIPTION = """
ipbridge **rewards** — policy packs, reward claims, no-meeting approval within caps, fund ledgers, clawbacks and the annual performance evaluation. Reacts to events from the other three services.
Errors are RFC 9457 problem+json.
"""


def create_app(settings: RewardsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or RewardsSettings(), title="ipbridge rewards", version="0.1.0",
        description=DESCRIPTION, tables=KERNEL, handlers=HANDLERS,
        routers=[enterprise_projection_router(ENTERPRISES)])
