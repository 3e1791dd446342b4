"""Technology demands (技术需求库): post, edit, close, and the deadline sweep. Each change is a
``demand.*`` event with the full state (the matching index and other services follow it).
Services add and flush; the edge (request or periodic task) commits."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.matching.db import ENTERPRISES, KERNEL
from services.matching.demands.models import Demand, new_id
from services.matching.demands.schemas import DemandClosure, DemandCreate, DemandUpdate
from services.matching.openlicenses.actors import actor
from services.matching.openlicenses.codes import canonical_uscc
from shared.app import PeriodicTask
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import (Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed,
                           PreconditionRequired)
from shared.identifiers import (InvalidIdentifier, validate_industry_code, validate_ipc,
                                validate_region_code)
from shared.outbox import emit
from shared.pagination import newest_first

log = structlog.get_logger("matching.demands")

#: Departments that post and manage demands on an enterprise's behalf (with demands:write).
ON_BEHALF = ("market_regulation",)


def acts_on_behalf(caller: Principal) -> bool:
    """An office managing any enterprise's demands: its department AND the demands:write scope
    (a market_regulation token without the scope is a reader, not an editor)."""
    return caller.department in ON_BEHALF and caller.has("demands:write")


class DemandNotFound(NotFound):
    slug = "demand-not-found"
    title = "Demand not found"


class DemandClosed(Conflict):
    slug = "demand-closed"
    title = "The demand is closed"


# --- IPC hints ----------------------------------------------------------------------------------

_IPC_PREFIX = re.compile(r"^(?P<section>[A-H])(?:(?P<cls>\d{2})(?:(?P<subclass>[A-Z])"
                         r"(?P<main>\d{1,4})?)?)?$", re.ASCII)
_IPC_VERSION = re.compile(r"\(\d{4}\.\d{2}\)$", re.ASCII)


def normalise_ipc_hint(raw: str) -> str:
    """An IPC symbol or a prefix of one at any level, normalised: ``h`` → ``H``, ``h01`` →
    ``H01``, ``h01m`` → ``H01M``, ``H01M10`` → ``H01M 10``, ``H01M10/0525(2010.01)`` →
    ``H01M 10/0525``. Raises :class:`InvalidIdentifier` naming the rule."""
    text = _IPC_VERSION.sub("", "".join(unicodedata.normalize("NFKC", raw or "").upper().split()))
    if "/" in text:
        return validate_ipc(text)
    match = _IPC_PREFIX.match(text)
    if match is None or match["cls"] == "00" or (match["main"] and int(match["main"]) == 0):
        raise InvalidIdentifier(
            "ipc.format", f"{raw!r} is not an IPC symbol or prefix: section A-H, then a 2-digit "
            "class, a subclass letter, a main group and /subgroup (h01m, H01M 10/0525)",
            "IPC 分类号或其前缀格式不正确（如 H01M、H01M 10/0525）")
    out = match["section"] + (match["cls"] or "") + (match["subclass"] or "")
    return f"{out} {int(match['main'])}" if match["main"] else out


def normalise_ipc_hints(hints: list[str], field: str = "ipc_hints") -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(hints):
        try:
            code = normalise_ipc_hint(raw)
        except InvalidIdentifier as exc:
            raise InvalidInput(f"{field}[{i}]", exc.rule, exc.message,
                               message_zh=exc.message_zh) from exc
        if code not in out:
            out.append(code)
    return out


# --- validation ---------------------------------------------------------------------------------

def _identifier(field: str, check, raw: str) -> str:
    try:
        return check(raw)
    except InvalidIdentifier as exc:
        raise InvalidInput(field, exc.rule, exc.message, message_zh=exc.message_zh) from exc


def _industry(raw: str | None) -> str | None:
    return _identifier("industry_code", lambda r: validate_industry_code(r)[0], raw) \
        if raw else None


def _region(raw: str | None) -> str | None:
    return _identifier("region_code", validate_region_code, raw) if raw else None


def _check_values(row: Demand) -> None:
    """Rules across fields, on the state a create or an edit would leave."""
    if (row.budget_min_cny is not None and row.budget_max_cny is not None
            and row.budget_min_cny > row.budget_max_cny):
        raise InvalidInput("budget_max_cny", "budget.order",
                           f"budget_max_cny {row.budget_max_cny} is below budget_min_cny "
                           f"{row.budget_min_cny}", message_zh="预算上限不能低于预算下限")


def _check_deadline(row: Demand) -> None:
    today = today_cn()
    if row.deadline is not None and row.deadline < today:
        raise InvalidInput("deadline", "deadline.past",
                           f"deadline {row.deadline.isoformat()} is before today "
                           f"({today.isoformat()})", message_zh="截止日期不能早于今天")


def _poster_uscc(body: DemandCreate, caller: Principal) -> str:
    if acts_on_behalf(caller):
        if not body.uscc:
            raise InvalidInput("uscc", "uscc.required",
                               "posting on an enterprise's behalf needs its uscc",
                               message_zh="代为发布需求须填写企业统一社会信用代码")
        return canonical_uscc(body.uscc, "uscc")
    if not caller.has("demands:write") or not caller.org:
        raise Forbidden("only an enterprise (for itself) or market_regulation may post demands",
                        detail_zh="只有企业本身或市场监管部门可以发布技术需求")
    org = caller.org.upper()
    if body.uscc and body.uscc.upper() != org:
        raise Forbidden("an enterprise posts demands only for itself",
                        detail_zh="企业只能为本单位发布技术需求")
    return org


def ensure_can_manage(row: Demand, caller: Principal) -> None:
    if acts_on_behalf(caller):
        return
    if caller.has("demands:write") and caller.org and caller.org.upper() == row.uscc:
        return
    raise Forbidden("only the demanding enterprise (or market_regulation) may change a demand",
                    detail_zh="只有发布需求的企业（或市场监管部门）可以修改需求")


# --- events -------------------------------------------------------------------------------------

def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def state(row: Demand) -> dict[str, Any]:
    return {"demand_id": row.id, "uscc": row.uscc, "enterprise_name": row.enterprise_name,
            "title": row.title, "description": row.description,
            "technical_field": row.technical_field, "ipc_hints": list(row.ipc_hints),
            "industry_code": row.industry_code, "region_code": row.region_code,
            "budget_min_cny": _money(row.budget_min_cny),
            "budget_max_cny": _money(row.budget_max_cny),
            "deadline": row.deadline.isoformat() if row.deadline else None,
            "status": row.status, "revision": row.revision}


async def _emit(session: AsyncSession, name: str, row: Demand, **stamp: str) -> None:
    await emit(session, KERNEL.outbox, name, key=row.uscc, subject=row.id,
               data=state(row) | stamp)


# --- commands -----------------------------------------------------------------------------------

async def get_or_404(session: AsyncSession, demand_id: str, *, for_update: bool = False
                     ) -> Demand:
    query = sa.select(Demand).where(Demand.id == demand_id)
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise DemandNotFound(f"no demand {demand_id}", detail_zh="技术需求不存在")
    return row


async def post(session: AsyncSession, body: DemandCreate, caller: Principal) -> Demand:
    """Validate and store an open demand (defaults for industry and region from the
    enterprise); emits ``demand.posted``."""
    uscc = _poster_uscc(body, caller)
    enterprise = (await session.execute(sa.select(ENTERPRISES)
                                        .where(ENTERPRISES.c.uscc == uscc))).first()
    if enterprise is None:
        raise InvalidInput("uscc", "enterprise.unknown",
                           f"enterprise {uscc} is not known to matching (register it at the "
                           "registry first, or retry in a moment)",
                           message_zh="匹配服务尚未收到该企业的登记信息")
    now = utcnow()
    row = Demand(id=new_id(), uscc=uscc, enterprise_name=enterprise.name, title=body.title,
                 description=body.description, technical_field=body.technical_field,
                 ipc_hints=normalise_ipc_hints(body.ipc_hints),
                 industry_code=_industry(body.industry_code) or enterprise.industry_code,
                 region_code=_region(body.region_code) or enterprise.region_code,
                 budget_min_cny=body.budget_min_cny, budget_max_cny=body.budget_max_cny,
                 deadline=body.deadline, status="open", posted_by=actor(caller), revision=1,
                 posted_at=now, changed_at=now)
    _check_values(row)
    _check_deadline(row)
    session.add(row)
    await session.flush()
    await _emit(session, "demand.posted", row, posted_at=now.isoformat())
    log.info("matching.demand.posted", demand_id=row.id, uscc=uscc)
    return row


def _expected_revision(if_match: str | None, body: DemandUpdate) -> int:
    if if_match:
        tag = if_match.split(",")[0].strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise PreconditionFailed(f"If-Match {if_match} is not an ETag of this API",
                                     detail_zh="If-Match 不是本接口返回的 ETag")
        return int(tag)
    if body.revision is None:
        raise PreconditionRequired("send If-Match with the ETag, or the revision in the body",
                                   detail_zh="更新需携带 If-Match 或 revision")
    return body.revision


async def update(session: AsyncSession, row: Demand, body: DemandUpdate, caller: Principal,
                 if_match: str | None) -> Demand:
    """Edit an open demand at the revision the caller read (412 if it moved on); emits
    ``demand.updated`` with the full new state."""
    ensure_can_manage(row, caller)
    expected = _expected_revision(if_match, body)
    if expected != row.revision:
        raise PreconditionFailed(f"the demand is at revision {row.revision}, not {expected}; "
                                 "re-read and retry", detail_zh="需求已被修改，请重新读取后再提交",
                                 current_revision=row.revision, current_etag=f'"{row.revision}"')
    if row.status != "open":
        raise DemandClosed(f"demand {row.id} is closed ({row.close_reason}); only open demands "
                           "can be edited", detail_zh="需求已关闭，不能修改",
                           current_status=row.status)
    fields = body.model_fields_set - {"revision"}
    for name in ("title", "description"):
        if name in fields and getattr(body, name) is None:
            raise InvalidInput(name, f"{name}.required", f"{name} cannot be removed",
                               message_zh="该字段不能为空")
    changes = {name: getattr(body, name) for name in fields}
    if "ipc_hints" in changes:
        changes["ipc_hints"] = normalise_ipc_hints(changes["ipc_hints"] or [])
    if "industry_code" in changes:
        changes["industry_code"] = _industry(changes["industry_code"])
    if "region_code" in changes:
        changes["region_code"] = _region(changes["region_code"])
    changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if not changes:
        return row
    for name, value in changes.items():
        setattr(row, name, value)
    _check_values(row)
    if "deadline" in changes:
        _check_deadline(row)
    row.revision += 1
    row.changed_at = utcnow()
    await session.flush()
    await _emit(session, "demand.updated", row, updated_at=row.changed_at.isoformat())
    log.info("matching.demand.updated", demand_id=row.id, fields=sorted(changes))
    return row


async def _close(session: AsyncSession, row: Demand, reason: str, note: str | None) -> None:
    now = utcnow()
    row.status, row.close_reason, row.close_note = "closed", reason, note
    row.closed_at = row.changed_at = now
    row.revision += 1
    await session.flush()
    await _emit(session, "demand.closed", row, closed_at=now.isoformat(), close_reason=reason)


async def close(session: AsyncSession, row: Demand, body: DemandClosure, caller: Principal
                ) -> Demand:
    """open → closed with the reason; emits ``demand.closed``."""
    ensure_can_manage(row, caller)
    if row.status != "open":
        raise DemandClosed(f"demand {row.id} is already closed ({row.close_reason})",
                           detail_zh="需求已关闭", current_status=row.status)
    await _close(session, row, body.reason, body.note)
    log.info("matching.demand.closed", demand_id=row.id, reason=body.reason)
    return row


async def close_expired(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Close open demands past their deadline (reason ``expired``); idempotent across replicas
    (rows locked and re-read, a closed one is skipped)."""
    today = today_cn()
    async with factory() as session, session.begin():
        rows = (await session.scalars(
            sa.select(Demand).where(Demand.status == "open", Demand.deadline < today)
            .order_by(Demand.deadline).limit(500).with_for_update())).all()
        for row in rows:
            await _close(session, row, "expired", f"deadline {row.deadline.isoformat()} passed")
    if rows:
        log.info("matching.demand.expired", count=len(rows))
    return {"expired": len(rows)}


#: Hourly: a deadline is a date, so closing within the hour after midnight (China) is enough.
PERIODIC_TASKS = [PeriodicTask("demand-deadlines", 3600, close_expired)]


# --- reading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    status: str | None = None
    uscc: str | None = None
    industry_code: str | None = None
    region_code: str | None = None


def _prefix(raw: str, field: str) -> str:
    text = "".join(raw.split()).upper()
    if not text.isascii() or not text.isalnum():
        raise InvalidInput(field, "prefix.format", "letters and digits only (a code or prefix)",
                           message_zh="只能包含字母和数字")
    return text


async def search(session: AsyncSession, filters: Filters, *, cursor: str | None, limit: int
                 ) -> tuple[list[Demand], str | None]:
    """Newest first; ``industry_code`` and ``region_code`` match prefixes (C39, 14)."""
    conditions: list[Any] = []
    if filters.status:
        conditions.append(Demand.status == filters.status)
    if filters.uscc:
        conditions.append(Demand.uscc == filters.uscc.upper())
    if filters.industry_code:
        conditions.append(Demand.industry_code.startswith(
            _prefix(filters.industry_code, "query.industry_code"), autoescape=True))
    if filters.region_code:
        conditions.append(Demand.region_code.startswith(
            _prefix(filters.region_code, "query.region_code"), autoescape=True))
    query = sa.select(Demand).where(*conditions)
    return await newest_first(session, query, Demand.posted_at, Demand.id, cursor, limit)


def read_model(row: Demand) -> dict[str, Any]:
    return {"id": row.id, "uscc": row.uscc, "enterprise_name": row.enterprise_name,
            "title": row.title, "description": row.description,
            "technical_field": row.technical_field, "ipc_hints": list(row.ipc_hints),
            "industry_code": row.industry_code, "region_code": row.region_code,
            "budget_min_cny": _money(row.budget_min_cny),
            "budget_max_cny": _money(row.budget_max_cny), "deadline": row.deadline,
            "status": row.status, "close_reason": row.close_reason, "close_note": row.close_note,
            "posted_by": row.posted_by, "revision": row.revision, "posted_at": row.posted_at,
            "changed_at": row.changed_at, "closed_at": row.closed_at}
