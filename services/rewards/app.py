"""Rewards service."""

from __future__ import annotations

from fastapi import FastAPI

from services.rewards.claims.handlers import HANDLERS as CLAIM_HANDLERS
from services.rewards.claims.payments import PERIODIC_TASKS as PAYMENT_TASKS
from services.rewards.claims.router import router as claims_router
from services.rewards.config import RewardsSettings
from services.rewards.db import ENTERPRISES, KERNEL
from services.rewards.enterprises.handlers import HANDLERS as ENTERPRISE_HANDLERS
from services.rewards.evaluation.handlers import HANDLERS as EVALUATION_HANDLERS
from services.rewards.evaluation.router import router as evaluation_router
from services.rewards.facts.handlers import HANDLERS as FACT_HANDLERS
from services.rewards.funds.router import router as funds_router
from services.rewards.policies import packs as reward_packs
from services.rewards.policies.announce import announce_packs
from services.rewards.policies.router import router as policies_router
from shared.app import combine_handlers, create_service_app
from shared.projections import enterprise_projection_router

DESCRIPTION = """
ipbridge **rewards** — policy packs (reward rules as versioned data per jurisdiction), reward
claims drafted from the other services' events or filed with evidence, no-meeting approval
(不见面审批) within caps, fund ledgers that never overspend, holds and clawbacks on credit
flags, and the annual performance evaluation. Reacts to events from the other three services
through its own projections. Money is in CNY yuan (元) as decimal strings. Errors are RFC 9457
problem+json.
"""


def load_policy_packs(_app: FastAPI | None = None) -> None:
    """Load and validate every rewards pack: a bad pack stops the start, named."""
    reward_packs.load()


def create_app(settings: RewardsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or RewardsSettings(), title="ipbridge rewards", version="0.2.0",
        description=DESCRIPTION, tables=KERNEL, on_startup=load_policy_packs,
        # a pack file changed under a released version stops the start; new versions are
        # recorded and announced (policy.changed) before the consumers start
        on_ready=[announce_packs],
        # projections first, then what reads them, in one transaction per event
        handlers=combine_handlers(ENTERPRISE_HANDLERS, FACT_HANDLERS, CLAIM_HANDLERS,
                                  EVALUATION_HANDLERS),
        periodic=[*PAYMENT_TASKS],
        routers=[enterprise_projection_router(ENTERPRISES), policies_router, claims_router,
                 funds_router, evaluation_router])
