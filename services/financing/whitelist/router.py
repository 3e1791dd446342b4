"""HTTP for the whitelist: banks poll it (cursor + ETag), officers ask why, ops re-evaluate."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.encoders import jsonable_encoder

from services.financing.whitelist import service
from services.financing.whitelist.models import WhitelistChange, WhitelistEntry
from services.financing.whitelist.schemas import (ReevaluationRequest, ReevaluationResult,
                                                  WhitelistEntryRead, WhitelistHistory,
                                                  WhitelistPage)
from shared.app import DbSession
from shared.auth import Caller, Principal, require
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.identifiers import uscc_or_422
from shared.pagination import decode_cursor, encode_cursor
from shared.projections import USCC_PATH

router = APIRouter(tags=["whitelist"])

IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match",
                                           description="an ETag from an earlier response")]
CanOperate = Annotated[Principal, Depends(require(scopes=("ops",)))]


def _can_read(caller: Principal, uscc: str | None = None) -> None:
    """Banks, regulators and the IP office read the list; an enterprise reads its own entry."""
    if caller.has("whitelist:read"):
        return
    if uscc and caller.has("enterprises:read:own") and (caller.org or "").upper() == uscc:
        return
    raise Forbidden("reading the whitelist needs whitelist:read (an enterprise may read its "
                    "own entry)", detail_zh="无权查看质押融资白名单", required_scopes=["whitelist:read"])


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


@router.get("/whitelist", response_model=WhitelistPage,
            summary="The pledge-financing whitelist (cursor pagination, ETag)")
async def list_whitelist(
    session: DbSession, caller: Caller, response: Response,
    tier: Annotated[str | None, Query(max_length=30, description="tier code, e.g. "
                                      "cultivation_pool")] = None,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$",
                                          description="GB/T 2260 province code")] = None,
    region: Annotated[str | None, Query(pattern=r"^([0-9]{2}|[0-9]{4}|[0-9]{6})$",
                                        description="2/4/6-digit GB/T 2260 prefix")] = None,
    industry_section: Annotated[str | None, Query(pattern=r"^[A-T]$",
                                                  description="GB/T 4754 section")] = None,
    changed_since: Annotated[datetime | None, Query(
        description="only entries changed at or after this instant (ISO 8601)")] = None,
    listed: Annotated[bool, Query(description="false: enterprises evaluated and not listed, "
                                              "with the failed rules")] = True,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    if_none_match: IfNoneMatch = None,
):
    """Entries in USCC order. ``ETag`` covers the page's content: send it back as
    ``If-None-Match`` to get ``304`` while nothing on the page changed. For a complete, pushed
    copy subscribe to ``financing.whitelist.v1`` (log-compacted by USCC) or a webhook."""
    _can_read(caller)
    if changed_since is not None and changed_since.utcoffset() is None:
        raise InvalidInput("query.changed_since", "datetime.offset_required",
                           "give the instant with its UTC offset, e.g. 2026-11-23T08:00:00+08:00",
                           message_zh="时间需带时区偏移")
    after = decode_cursor(cursor)
    query = sa.select(WhitelistEntry).where(WhitelistEntry.listed.is_(listed))
    if tier:
        query = query.where(WhitelistEntry.tier_code == tier)
    if province:
        query = query.where(WhitelistEntry.province_code == province)
    if region:
        query = query.where(WhitelistEntry.region_code.startswith(region, autoescape=True))
    if industry_section:
        query = query.where(WhitelistEntry.industry_code.startswith(industry_section))
    if changed_since:
        query = query.where(WhitelistEntry.changed_at >= changed_since)
    if after:
        query = query.where(WhitelistEntry.uscc > after)
    rows = list(await session.scalars(query.order_by(WhitelistEntry.uscc).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].uscc) if len(rows) > limit else None
    page = WhitelistPage(items=[WhitelistEntryRead(**service.snapshot(e)) for e in rows[:limit]],
                         next_cursor=next_cursor)
    body = json.dumps(jsonable_encoder(page), sort_keys=True, ensure_ascii=False)
    etag = f'W/"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
    if _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "private, no-cache"
    return page


def _uscc(raw: str) -> str:
    return uscc_or_422(raw, "path.uscc")


@router.get("/whitelist/{uscc}", response_model=WhitelistEntryRead,
            summary="One enterprise's whitelist standing and why")
async def read_entry(uscc: USCC_PATH, session: DbSession, caller: Caller, response: Response,
                     if_none_match: IfNoneMatch = None):
    """Also for enterprises that are not listed: ``basis.failed`` names the rules they fail.
    404 until financing has evaluated the enterprise (its registry events arrive first)."""
    uscc = _uscc(uscc)
    _can_read(caller, uscc)
    entry = await session.get(WhitelistEntry, uscc)
    if entry is None:
        raise NotFound(f"financing has not evaluated {uscc} (no registry record received yet)",
                       detail_zh="尚未评估该企业（未收到登记信息）")
    etag = f'"{entry.revision}-{entry.digest[:16]}"'
    if _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return WhitelistEntryRead(**service.snapshot(entry))


@router.get("/whitelist/{uscc}/changes", response_model=WhitelistHistory,
            summary="The published changes of an enterprise's entry, newest first")
async def entry_changes(uscc: USCC_PATH, session: DbSession, caller: Caller,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> WhitelistHistory:
    uscc = _uscc(uscc)
    _can_read(caller, uscc)
    rows = await session.scalars(sa.select(WhitelistChange).where(WhitelistChange.uscc == uscc)
                                 .order_by(WhitelistChange.revision.desc()).limit(limit))
    return WhitelistHistory(uscc=uscc, items=[
        {"revision": r.revision, "change": r.change, "event_id": r.event_id,
         "tier_code": r.tier_code, "basis": r.basis, "cause": r.cause,
         "changed_at": r.changed_at} for r in rows])


@router.post("/whitelist/re-evaluation", response_model=ReevaluationResult,
             summary="Re-evaluate enterprises now (ops)")
async def reevaluate(body: ReevaluationRequest, session: DbSession,
                     caller: CanOperate) -> ReevaluationResult:
    """Normally unnecessary: every relevant event re-evaluates, and a pack change is swept at
    start. For an incident (e.g. after restoring a projection)."""
    usccs = [uscc_or_422(raw, f"usccs[{i}]") for i, raw in enumerate(body.usccs)]
    published = await service.reevaluate(session, usccs, cause=f"ops:{caller.subject}"[:80])
    return ReevaluationResult(evaluated=len(set(usccs)), published=published)
