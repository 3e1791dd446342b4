"""Bulk import of enterprises: the API's rules, batched writes, idempotent re-runs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db import KERNEL
from services.registry.enterprises import service
from services.registry.enterprises.events import enterprise_state
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseCreate
from shared.auth import Principal
from shared.db import utcnow
from shared.outbox import emit_many

#: Fields an import may change on an existing enterprise (identity and history stay).
_MUTABLE = ("name", "region_code", "province_code", "industry_code", "industry_section",
            "ownership", "founded_on", "employees", "revenue_10k_cny", "total_assets_10k_cny",
            "figures_year", "size_class", "size_basis")


def _comparable(e: Enterprise) -> dict[str, Any]:
    state = enterprise_state(e)
    state.pop("revision")
    return state


class EnterpriseImporter:
    kind = "enterprises"
    key_field = "uscc"

    def __init__(self, by: Principal) -> None:
        self.by = by

    def parse(self, row: dict[str, Any]) -> Enterprise:
        return service.prepare(EnterpriseCreate.model_validate(row), self.by)

    def key(self, record: Enterprise) -> str:
        return record.uscc

    async def apply(self, session: AsyncSession, records: list[Enterprise]
                    ) -> tuple[int, int, int, dict]:
        keys = [r.uscc for r in records]
        existing = {e.uscc: e for e in await session.scalars(
            sa.select(Enterprise).where(Enterprise.uscc.in_(keys)))}
        new = [r for r in records if r.uscc not in existing]
        changed = []
        for record in records:
            current = existing.get(record.uscc)
            if current is None or _comparable(current) == _comparable(record):
                continue
            for name in _MUTABLE:
                setattr(current, name, getattr(record, name))
            current.revision += 1
            current.updated_at = utcnow()
            current.updated_by = self.by.subject
            changed.append(current)
        session.add_all(new)
        await session.flush()
        await emit_many(session, KERNEL.outbox,
                        [service.registered_event(e) for e in new]
                        + [service.updated_event(e) for e in changed])
        return len(new), len(changed), len(records) - len(new) - len(changed), {}
