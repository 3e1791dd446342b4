"""Whitelist evaluation: gather the facts of a batch of enterprises in a few queries, decide with
the pack in force, store the entry with its basis, and publish what changed.

Events (``financing.whitelist.v1``, key USCC) are full snapshots: ``entry_added`` when an
enterprise becomes listed, ``entry_updated`` when a listed entry's content changes (tier,
pledgeable patents, valuations, name, region), ``entry_removed`` when it stops being listed
(with the failed rules). Nothing is published while an enterprise stays unlisted; its row still
records why. The entry's ``revision`` counts published changes, so a consumer keeps the highest.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.financing.db import ENTERPRISES
from services.financing.events import publish_many
from services.financing.facts.models import (CoOwnerConsent, CreditFlagFact, PatentFact,
                                             PatentOwnerFact, PoolFact, QualificationFact)
from services.financing.loans import repository as loans
from services.financing.loans.packs import pack_on as loan_pack_on
from services.financing.valuations import repository as valuations
from services.financing.whitelist.models import WhitelistChange, WhitelistEntry
from services.financing.whitelist.packs import WhitelistPack, pack_on, pack_ref
from services.financing.whitelist.rules import Decision, Facts, PatentView, evaluate
from shared.app import PeriodicTask
from shared.db import today_cn, utcnow
from prometheus_client import Counter

log = structlog.get_logger("financing.whitelist")

CHUNK = 500
WHITELIST_CHANGES = Counter("ipbridge_whitelist_changes_total",
                            "Whitelist entries published, by change", ["change"])


def _chunks(items: list[str], size: int = CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _money(value: Any) -> Any:
    return f"{value:.2f}" if value is not None and not isinstance(value, str) else value


def _valuation_view(v: dict[str, Any] | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"valuation_id": v["valuation_id"], "value_cny": _money(v["value_cny"]),
            "low_cny": _money(v.get("low_cny")), "high_cny": _money(v.get("high_cny")),
            "method": v.get("method"),
            "valued_on": v["valued_on"].isoformat() if isinstance(v.get("valued_on"), date)
            else v.get("valued_on"),
            "valid_until": v["valid_until"].isoformat() if isinstance(v.get("valid_until"), date)
            else v.get("valid_until")}


async def gather(session: AsyncSession, usccs: list[str]) -> dict[str, Facts]:
    """The facts of ``usccs`` (already canonical), in a fixed number of queries per chunk."""
    enterprises: dict[str, dict[str, Any]] = {}
    owned: dict[str, list[str]] = defaultdict(list)
    qualifications: dict[str, list[dict[str, Any]]] = defaultdict(list)
    flags: dict[str, list[dict[str, Any]]] = defaultdict(list)
    pools: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(usccs):
        for row in (await session.execute(
                sa.select(ENTERPRISES).where(ENTERPRISES.c.uscc.in_(chunk)))).mappings():
            enterprises[row["uscc"]] = dict(row)
        for number, uscc in (await session.execute(
                sa.select(PatentOwnerFact.application_no, PatentOwnerFact.uscc)
                .where(PatentOwnerFact.uscc.in_(chunk)))).all():
            owned[uscc].append(number)
        for q in (await session.scalars(sa.select(QualificationFact)
                                        .where(QualificationFact.uscc.in_(chunk)))):
            qualifications[q.uscc].append({
                "qualification_id": q.qualification_id, "kind": q.kind, "status": q.status,
                "valid_from": q.valid_from, "valid_to": q.valid_to,
                "certificate_no": q.certificate_no})
        for f in (await session.scalars(sa.select(CreditFlagFact)
                                        .where(CreditFlagFact.uscc.in_(chunk)))):
            flags[f.uscc].append({"flag_id": f.flag_id, "kind": f.kind, "status": f.status,
                                  "reference": f.reference})
        for p in (await session.scalars(sa.select(PoolFact).where(PoolFact.uscc.in_(chunk)))):
            pools[p.uscc] = {"status": p.status, "admitted_on": p.admitted_on}

    numbers = sorted({n for ns in owned.values() for n in ns})
    patents: dict[str, PatentFact] = {}
    consents: dict[tuple[str, str], set[str]] = defaultdict(set)
    for chunk in _chunks(numbers):
        for p in (await session.scalars(
                sa.select(PatentFact).where(PatentFact.application_no.in_(chunk))
                .execution_options(populate_existing=False))):
            patents[p.application_no] = p
        for c in (await session.scalars(
                sa.select(CoOwnerConsent).where(CoOwnerConsent.application_no.in_(chunk),
                                                CoOwnerConsent.withdrawn_at.is_(None)))):
            consents[(c.application_no, c.for_uscc)].add(c.owner_key)
    pledged = await loans.pledged_application_nos(session, numbers) if numbers else set()
    latest = await valuations.latest_for(session, numbers) if numbers else {}

    facts = {}
    for uscc in usccs:
        views = []
        for number in owned.get(uscc, []):
            p = patents.get(number)
            if p is None:
                continue
            views.append(PatentView(
                application_no=p.application_no, patent_no=p.patent_no, kind=p.kind,
                title=p.title, status=p.status, in_force=p.in_force,
                term_ends_on=p.term_ends_on, suspended=p.suspended,
                registry_pledged=p.registry_pledged, financing_pledged=number in pledged,
                high_value=p.high_value, owners=p.owners,
                consented=frozenset(consents.get((number, uscc), ())),
                valuation=_valuation_view(latest.get(number))))
        facts[uscc] = Facts(uscc=uscc, enterprise=enterprises.get(uscc), patents=views,
                            qualifications=qualifications.get(uscc, []),
                            credit_flags=flags.get(uscc, []), pool=pools.get(uscc))
    return facts


def _content(facts: Facts, decision: Decision) -> dict[str, Any]:
    """What a bank sees, without the bookkeeping (revision, times): the change test."""
    e = facts.enterprise or {}
    basis = {k: v for k, v in decision.basis.items() if k != "evaluated_on"}
    return {"uscc": facts.uscc, "name": e.get("name"), "region_code": e.get("region_code"),
            "province_code": e.get("province_code"), "industry_code": e.get("industry_code"),
            "size_class": e.get("size_class"), "listed": decision.listed, "tier": decision.tier,
            "pledgeable_patents": decision.pledgeable, "basis": basis}


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                     default=str).encode()).hexdigest()


def snapshot(entry: WhitelistEntry) -> dict[str, Any]:
    """The full entry as published on the topic, sent to webhooks and returned by the API."""
    return {"uscc": entry.uscc, "name": entry.name, "region_code": entry.region_code,
            "province_code": entry.province_code, "industry_code": entry.industry_code,
            "size_class": entry.size_class, "listed": entry.listed, "tier": entry.tier,
            "pledgeable_patents": entry.patents, "basis": entry.basis, "pack": entry.pack,
            "revision": entry.revision,
            "listed_since": entry.listed_since.isoformat() if entry.listed_since else None,
            "evaluated_at": entry.evaluated_at.isoformat(),
            "changed_at": entry.changed_at.isoformat() if entry.changed_at else None}


def decided_by(pack: WhitelistPack, loan_pack) -> str:
    """The packs a decision depends on: the whitelist's and the pledge rules'."""
    return f"{pack_ref(pack)} {loan_pack.id}@v{loan_pack.version}"


def _change(before: WhitelistEntry | None, listed: bool, digest: str) -> str | None:
    was_listed = before is not None and before.listed
    if listed and not was_listed:
        return "added"
    if was_listed and not listed:
        return "removed"
    if listed and before is not None and before.digest != digest:
        return "updated"
    return None


async def reevaluate(session: AsyncSession, usccs: Iterable[str], *, cause: str,
                     today: date | None = None, pack: WhitelistPack | None = None) -> list[str]:
    """Re-evaluate the entries of ``usccs`` in the caller's transaction and publish
    ``whitelist.entry_added / _updated / _removed`` for those that changed. Returns the event
    types published."""
    wanted = sorted({u.upper() for u in usccs if u})
    if not wanted:
        return []
    today = today or today_cn()
    pack = pack or pack_on(today)
    loan_pack = loan_pack_on(today)
    packs = decided_by(pack, loan_pack)
    facts = await gather(session, wanted)
    existing: dict[str, WhitelistEntry] = {}
    for chunk in _chunks(wanted):
        for entry in (await session.scalars(
                sa.select(WhitelistEntry).where(WhitelistEntry.uscc.in_(chunk))
                .with_for_update())):
            existing[entry.uscc] = entry
    now = utcnow()
    pending: list[tuple[str, str, dict[str, Any]]] = []
    changed: list[WhitelistEntry] = []
    for uscc in wanted:
        fact = facts[uscc]
        before = existing.get(uscc)
        if fact.enterprise is None and before is None:
            continue  # nothing known yet: the enterprise event will trigger the evaluation
        decision = evaluate(fact, pack, today, loan_pack)
        content = _content(fact, decision)
        digest = _digest(content)
        change = _change(before, decision.listed, digest)
        entry = before
        if entry is None:
            entry = WhitelistEntry(uscc=uscc, revision=0)
            session.add(entry)
        elif change is None and entry.digest == digest and entry.packs == packs:
            continue  # nothing new; keep the last evaluation time for what changed
        entry.listed = decision.listed
        entry.tier = decision.tier
        entry.tier_code = decision.tier["code"] if decision.tier else None
        entry.tier_rank = decision.tier["rank"] if decision.tier else None
        for name in ("name", "region_code", "province_code", "industry_code", "size_class"):
            setattr(entry, name, content[name])
        entry.patents = decision.pledgeable
        entry.basis = {**decision.basis, "cause": cause}
        entry.pack = pack_ref(pack)
        entry.packs = packs
        entry.digest = digest
        entry.cause = cause[:80]
        entry.evaluated_at = now
        if change is None:
            continue
        entry.revision += 1
        entry.changed_at = now
        if change == "added":
            entry.listed_since = today
        pending.append((f"whitelist.entry_{change}", uscc, {**snapshot(entry), "change": change}))
        changed.append(entry)
        if change == "removed":
            entry.listed_since = None
    # one multi-row outbox insert for the batch (a pack change re-decides thousands at once)
    events = await publish_many(session, pending)
    for entry, event, (_, _, data) in zip(changed, events, pending):
        session.add(WhitelistChange(uscc=entry.uscc, revision=entry.revision,
                                    change=data["change"], event_id=event.id,
                                    tier_code=entry.tier_code, basis=entry.basis,
                                    cause=entry.cause, changed_at=now))
        WHITELIST_CHANGES.labels(data["change"]).inc()
        log.info("financing.whitelist.changed", uscc=entry.uscc, change=data["change"],
                 tier=entry.tier_code, revision=entry.revision, cause=cause)
    await session.flush()
    return [event.type for event in events]


async def reevaluate_all(factory: async_sessionmaker[AsyncSession], *, cause: str,
                         only_stale_pack: bool = False, batch_size: int = CHUNK,
                         today: date | None = None) -> dict[str, int]:
    """Re-evaluate every known enterprise in batches, one transaction per batch (a pack change,
    or ops). ``only_stale_pack``: only entries decided by other packs than those in force (the
    whitelist pack or the pledge rules)."""
    today = today or today_cn()
    pack = pack_on(today)
    current = decided_by(pack, loan_pack_on(today))
    counts = {"evaluated": 0, "published": 0}
    after = ""
    while True:
        async with factory() as session:
            if only_stale_pack:
                query = (sa.select(WhitelistEntry.uscc)
                         .where(WhitelistEntry.packs != current, WhitelistEntry.uscc > after))
            else:
                query = sa.select(ENTERPRISES.c.uscc).where(ENTERPRISES.c.uscc > after)
            column = query.selected_columns[0]
            batch = list(await session.scalars(query.order_by(column).limit(batch_size)))
            if not batch:
                return counts
            published = await reevaluate(session, batch, cause=cause, today=today, pack=pack)
            await session.commit()
        counts["evaluated"] += len(batch)
        counts["published"] += len(published)
        after = batch[-1]


async def _pack_sweep(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    today = today_cn()
    cause = f"packs:{decided_by(pack_on(today), loan_pack_on(today))}"[:80]
    return await reevaluate_all(factory, cause=cause,
                                only_stale_pack=True)


#: After a pack change (a new file deployed, or a pack coming into force), entries decided by
#: the old pack are re-evaluated; on an unchanged pack the sweep finds nothing to do.
PERIODIC_TASKS = [PeriodicTask("whitelist.pack_sweep", 300.0, _pack_sweep)]
