"""Periodic jobs of financing's webhooks: the delivery dispatcher (every replica runs it; the
lease in ``repository.claim`` keeps two replicas from sending the same delivery at once)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.financing.webhooks.dispatcher import dispatcher_for
from shared.app import PeriodicTask


async def dispatch(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Send due deliveries; returns after at most the poll interval (it waits for wake-ups)."""
    return await dispatcher_for(factory).run()


#: A short pause between runs: each run itself waits for commits or due retries.
PERIODIC_TASKS: list[PeriodicTask] = [
    PeriodicTask(name="webhooks.dispatch", interval_s=0.05, run=dispatch),
]
