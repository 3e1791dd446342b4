"""Financing service."""

from __future__ import annotations

from fastapi import FastAPI

from services.financing.compensation import packs as compensation_packs
from services.financing.compensation.router import router as compensation_router
from services.financing.config import FinancingSettings
from services.financing.db import ENTERPRISES, KERNEL
from services.financing.enterprises.handlers import HANDLERS as ENTERPRISE_HANDLERS
from services.financing.equity import packs as equity_packs
from services.financing.equity.router import router as equity_router
from services.financing.facts.handlers import HANDLERS as FACT_HANDLERS
from services.financing.loans import packs as loan_packs
from services.financing.loans.router import router as loans_router
from services.financing.loans.tasks import PERIODIC_TASKS as LOAN_TASKS
from services.financing.stats.router import router as stats_router
from services.financing.valuations import packs as valuation_packs
from services.financing.valuations.handlers import HANDLERS as VALUATION_HANDLERS
from services.financing.valuations.router import router as valuations_router
from services.financing.webhooks.config import WebhookSettings
from services.financing.webhooks.router import router as webhooks_router
from services.financing.webhooks.tasks import PERIODIC_TASKS as WEBHOOK_TASKS
from services.financing.whitelist import packs as whitelist_packs
from services.financing.whitelist.router import router as whitelist_router
from services.financing.whitelist.service import PERIODIC_TASKS as WHITELIST_TASKS
from shared.app import combine_handlers, create_service_app
from shared.projections import enterprise_projection_router

DESCRIPTION = """
ipbridge **financing** — the pledge-financing whitelist banks consume (`financing.whitelist.v1`,
log-compacted by USCC, or signed webhooks), patent valuations (GB/T 42748-2023 approach), pledge
loans with their state machine, bank credit quotas and the green channel, the risk-compensation
fund, the equity track and statistics for regulators. Reacts to registry and matching events
through its own projections; never reads another service's database. Money is in CNY yuan (元)
as decimal strings. Errors are RFC 9457 problem+json.
"""

def load_policy_packs(_app: FastAPI | None = None) -> None:
    """Load and validate every financing pack: a bad pack stops the start, named."""
    for module in (whitelist_packs, valuation_packs, loan_packs, compensation_packs,
                   equity_packs):
        module.load()


def check_configuration(app: FastAPI | None = None) -> None:
    """What must hold before the service accepts traffic: valid packs, and (in production) the
    key that seals the banks' webhook secrets."""
    load_policy_packs(app)
    WebhookSettings()


def create_app(settings: FinancingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or FinancingSettings(), title="ipbridge financing", version="0.2.0",
        description=DESCRIPTION, tables=KERNEL, on_startup=check_configuration,
        handlers=combine_handlers(ENTERPRISE_HANDLERS, FACT_HANDLERS, VALUATION_HANDLERS),
        periodic=[*WHITELIST_TASKS, *LOAN_TASKS, *WEBHOOK_TASKS],
        routers=[enterprise_projection_router(ENTERPRISES), whitelist_router, valuations_router,
                 loans_router, compensation_router, equity_router, stats_router,
                 webhooks_router])
