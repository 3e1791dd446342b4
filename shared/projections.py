"""The enterprise projection that financing, matching and rewards keep from registry events.

Each consuming service declares the table on its own metadata (its own database) and mounts the
read route; the rows arrive only through ``enterprise.registered`` / ``enterprise.updated``.
Events carry the registry's ``revision``: an older or equal revision is skipped, so redelivery
and reordering cannot roll a projection back.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, current_principal, ensure_can_read_enterprise
from shared.db import UTCDateTime, utcnow
from shared.errors import NotFound
from shared.events.envelope import CloudEvent

ENTERPRISE_EVENTS = ("enterprise.registered", "enterprise.updated")
USCC_PATH = Annotated[str, Path(min_length=18, max_length=18, pattern=r"^[0-9A-Za-z]{18}$",
                                description="Unified Social Credit Code (统一社会信用代码)")]


def enterprise_projection_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "enterprise_projection", metadata,
        sa.Column("uscc", sa.String(18), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("industry_code", sa.String(5), nullable=True),
        sa.Column("ownership", sa.String(20), nullable=True),
        sa.Column("founded_on", sa.Date, nullable=True),
        sa.Column("size_class", sa.String(10), nullable=True,
                  comment="SME size class as classified by the registry"),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("last_event_id", sa.String(64), nullable=False),
        sa.Column("source_time", sa.String(40), nullable=True),
        sa.Column("projected_at", UTCDateTime(), nullable=False),
    )


def dialect_insert(session: AsyncSession):
    """``insert`` of the session's dialect (PostgreSQL or SQLite), for ``ON CONFLICT`` clauses."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def apply_enterprise_event(table: sa.Table, session: AsyncSession, event: CloudEvent) -> bool:
    """Upsert the projection from an enterprise event in one statement; an older or equal
    revision changes nothing. Returns whether the row changed."""
    data = event.data
    values = {
        "uscc": data["uscc"], "name": data["name"], "region_code": data.get("region_code"),
        "province_code": data.get("province_code"), "industry_code": data.get("industry_code"),
        "ownership": data.get("ownership"),
        "founded_on": date.fromisoformat(data["founded_on"]) if data.get("founded_on") else None,
        "size_class": data.get("size_class"),
        "revision": data["revision"], "last_event_id": event.id, "source_time": event.time,
        "projected_at": utcnow(),
    }
    insert = dialect_insert(session)(table).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.uscc],
        set_={k: insert.excluded[k] for k in values if k != "uscc"},
        where=table.c.revision < insert.excluded.revision)
    result = await session.execute(statement)
    return result.rowcount > 0


class EnterpriseProjectionRead(BaseModel):
    """This service's view of an enterprise, as last received from the registry."""

    uscc: str = Field(description="统一社会信用代码")
    name: str = Field(description="企业名称")
    region_code: str | None = Field(None, description="GB/T 2260 registered region")
    province_code: str | None = None
    industry_code: str | None = Field(None, description="GB/T 4754-2017 code")
    ownership: str | None = None
    founded_on: date | None = None
    size_class: str | None = Field(None, description="large | medium | small | micro")
    revision: int = Field(description="Registry revision this view reflects")
    last_event_id: str = Field(description="CloudEvents id of the last applied event")
    projected_at: datetime


def enterprise_projection_router(table: sa.Table) -> APIRouter:
    """``GET /enterprises/{uscc}``: the service's own projection (404 until the event arrives)."""
    router = APIRouter(tags=["enterprises"])

    @router.get("/enterprises/{uscc}", response_model=EnterpriseProjectionRead,
                summary="This service's projection of an enterprise")
    async def read_enterprise(uscc: USCC_PATH, request: Request,
                              principal: Annotated[Principal, Depends(current_principal)]):
        uscc = uscc.upper()
        ensure_can_read_enterprise(principal, uscc)
        async with request.app.state.sessionmaker() as session:
            row = (await session.execute(sa.select(table).where(table.c.uscc == uscc))).first()
        if row is None:
            raise NotFound(f"enterprise {uscc} is not in this service's projection (yet)",
                           detail_zh="本服务尚未收到该企业的登记事件")
        return EnterpriseProjectionRead.model_validate(row._mapping)

    return router


# --- revision-guarded facts (each consuming service's projections of registry facts) -----------

def iso_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def is_newer(row: object | None, event: CloudEvent, log) -> bool:
    """Whether ``event`` carries a newer registry revision than ``row`` holds (or there is no
    row): an older or equal one is a redelivery or a reordering and changes nothing."""
    if row is not None and row.revision >= event.data["revision"]:  # type: ignore[attr-defined]
        log.info("fact.stale_revision_skipped", type=event.type, subject=event.subject,
                 held=row.revision, received=event.data["revision"])  # type: ignore[attr-defined]
        return False
    return True


def stamp(row: object, event: CloudEvent) -> None:
    """Record the revision and event a fact now reflects."""
    row.revision = event.data["revision"]  # type: ignore[attr-defined]
    row.last_event_id = event.id  # type: ignore[attr-defined]
    row.projected_at = utcnow()  # type: ignore[attr-defined]



POOL_EVENTS = ("pool.admitted", "pool.graduated", "pool.removed")
_POOL_STATUS = {"pool.admitted": "admitted", "pool.graduated": "graduated",
                "pool.removed": "removed"}
_POOL_DATE = {"pool.admitted": "admitted_on", "pool.graduated": "graduated_on",
              "pool.removed": "removed_on"}


async def apply_fact(model: type, key: dict[str, Any], session: AsyncSession, event: CloudEvent,
                     log, values: dict[str, Any]) -> Any | None:
    """Write ``values`` onto the ``model`` row named by ``key`` (created when missing) when
    ``event`` carries a newer registry revision, and stamp it; the row, or None when stale."""
    identity = tuple(key.values())
    fact = await session.get(model, identity if len(identity) > 1 else identity[0])
    if not is_newer(fact, event, log):
        return None
    if fact is None:
        fact = model(**key)
        session.add(fact)
    for name, value in values.items():
        setattr(fact, name, value)
    stamp(fact, event)
    await session.flush()
    return fact


async def apply_pool_event(model: type, session: AsyncSession, event: CloudEvent, log) -> bool:
    """Project a ``pool.*`` event onto ``model`` (a service's cultivation-pool fact: ``uscc``
    key, ``status``, ``province_code``, ``admitted_on``, ``changed_on``, ``reason`` when it has
    one, and the revision stamp); False when the event is stale."""
    data = event.data
    current = await session.get(model, data["uscc"])
    values: dict[str, Any] = {
        "status": _POOL_STATUS[event.type], "province_code": data.get("province_code"),
        "admitted_on": iso_date(data.get("admitted_on"))
        or (current.admitted_on if current is not None else None),
        "changed_on": iso_date(data.get(_POOL_DATE[event.type]))}
    if hasattr(model, "reason"):
        values["reason"] = data.get("reason")
    return await apply_fact(model, {"uscc": data["uscc"]}, session, event, log, values) is not None
