"""Bulk import of patents: each row goes through the API's ``register`` (same rules, same event).

CSV columns: the PatentCreate fields, with lists flattened: ``ipc_codes`` separated by ``;``,
and owners as ``owner_name`` / ``owner_uscc`` / ``owner_share`` (``;``-separated for co-owners,
in the same order). JSON Lines rows are PatentCreate objects as the API takes them.
Re-running a file: a patent already registered with the same title, dates, status and IPC codes
is ``unchanged``; one that differs is reported (use PATCH for changes), never silently skipped.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.patents import repository, service
from services.registry.patents.models import Patent
from services.registry.patents.schemas import PatentCreate
from services.registry.db import KERNEL
from shared.auth import Principal
from shared.errors import InvalidInput, ProblemError
from shared.identifiers import (InvalidIdentifier, validate_application_no, validate_ipc,
                                validate_uscc)
from shared.outbox import emit_many

_LIST_FIELDS = ("ipc_codes",)


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _from_csv(row: dict[str, Any]) -> dict[str, Any]:
    """Turn the flat CSV shape into the API's shape (JSON Lines rows pass through)."""
    if "owners" in row or not any(k.startswith("owner_") for k in row):
        return row
    row = dict(row)
    names = _split(row.pop("owner_name", ""))
    usccs = _split(row.pop("owner_uscc", "")) if "owner_uscc" in row else []
    shares = _split(row.pop("owner_share", "")) if "owner_share" in row else []
    for name, values in (("owner_uscc", usccs), ("owner_share", shares)):
        if values and len(values) != len(names):
            raise InvalidInput(name, "owners.count", f"{len(values)} values for {len(names)} "
                               "owner names (use ';' between co-owners, in the same order)")
    row["owners"] = [{"name": n} | ({"uscc": usccs[i]} if usccs and usccs[i] != "-" else {})
                     | ({"share": shares[i]} if shares else {}) for i, n in enumerate(names)]
    for name in _LIST_FIELDS:
        if name in row:
            row[name] = _split(row[name])
    return row


def _same(existing: Patent, data: PatentCreate) -> bool:
    try:
        ipc = [validate_ipc(c) for c in data.ipc_codes]
    except InvalidIdentifier:
        return False
    status = data.status.value if data.status else ("granted" if data.grant_date else "pending")
    return (existing.title == data.title and existing.filing_date == data.filing_date
            and existing.grant_date == data.grant_date and existing.status == status
            and list(existing.ipc_codes or []) == ipc)


class PatentImporter:
    kind = "patents"
    key_field = "application_no"

    def __init__(self, by: Principal) -> None:
        self.by = by

    def parse(self, row: dict[str, Any]) -> PatentCreate:
        data = PatentCreate.model_validate(_from_csv(row))
        try:
            canonical = validate_application_no(data.application_no).canonical
        except InvalidIdentifier as exc:
            raise InvalidInput("application_no", exc.rule, exc.message) from exc
        return data.model_copy(update={"application_no": canonical})

    def key(self, record: PatentCreate) -> str:
        return record.application_no

    async def apply(self, session: AsyncSession, records: list[PatentCreate]
                    ) -> tuple[int, int, int, dict[str, Exception]]:
        keys = [r.application_no for r in records]
        existing = {p.application_no: p for p in await session.scalars(
            sa.select(Patent).where(Patent.application_no.in_(keys)))}
        inserted = unchanged = 0
        refused: dict[str, Exception] = {}
        events: list = []
        owner_usccs = set()
        for record in records:
            for owner in record.owners:
                if owner.uscc:
                    try:
                        owner_usccs.add(validate_uscc(owner.uscc).code)
                    except InvalidIdentifier:
                        pass  # register reports it for its row
        await repository.prefetch_enterprise_regions(session, owner_usccs)
        # One flush per batch: without this, each row's owner lookup would flush the rows
        # added before it.
        with session.no_autoflush:
            for record in records:
                current = existing.get(record.application_no)
                if current is not None:
                    if _same(current, record):
                        unchanged += 1
                    else:
                        refused[record.application_no] = InvalidInput(
                            "application_no", "patent.exists_with_other_facts",
                            "already registered with different facts; change it with PATCH "
                            "/v1/patents/{application_no}")
                    continue
                try:
                    # register checks every rule before it writes anything, so a refused row
                    # leaves the batch's transaction clean.
                    await service.register(session, record, self.by, bulk_events=events)
                except ProblemError as exc:
                    refused[record.application_no] = exc
                    continue
                inserted += 1
        await session.flush()
        await emit_many(session, KERNEL.outbox, events)
        return inserted, 0, unchanged, refused
