"""Every query for reward claims, their cap tallies, and the facts a decision reads.

Locking, the same on both databases: what a transaction is about to change is locked *before*
it is read. PostgreSQL locks rows (``SELECT … FOR UPDATE``, in id or key order so two
transactions never wait on each other in a circle); SQLite has one writer, so the first write
statement of a transaction takes the database's writer lock, and every read after it sees the
latest committed state until the commit. Where nothing has been written yet, a no-op UPDATE of
the rows concerned takes that lock on SQLite (on PostgreSQL it is harmless).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims.models import ClaimTally, RewardClaim
from services.rewards.claims.rules import CapRequest
from services.rewards.db import ENTERPRISES
from services.rewards.facts.models import (RewardCreditFlag, RewardItem, RewardPoolMember,
                                           RewardQualification)
from shared.projections import dialect_insert

#: Statuses a claim can no longer leave by a decision (paid ones only by clawback).
DECIDED = ("approved", "paid")


def is_sqlite(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "sqlite"


# --- claims -------------------------------------------------------------------------------------

async def insert_claim(session: AsyncSession, values: dict[str, Any]) -> RewardClaim | None:
    """Insert a claim unless its (pack, rule, item) is claimed already; the new claim, or
    None when it was."""
    statement = (dialect_insert(session)(RewardClaim).values(**values)
                 .on_conflict_do_nothing(index_elements=["pack_id", "rule_code", "item_ref"])
                 .returning(RewardClaim))
    return (await session.scalars(statement)).first()


async def get(session: AsyncSession, claim_id: str) -> RewardClaim | None:
    return await session.scalar(sa.select(RewardClaim).where(RewardClaim.id == claim_id)
                                .execution_options(populate_existing=True))


async def claim_for_item(session: AsyncSession, pack_id: str, rule_code: str, item_ref: str
                         ) -> RewardClaim | None:
    return await session.scalar(sa.select(RewardClaim).where(
        RewardClaim.pack_id == pack_id, RewardClaim.rule_code == rule_code,
        RewardClaim.item_ref == item_ref))


async def lock_claims(session: AsyncSession, *conditions: Any, skip_locked: bool = False,
                      limit: int | None = None, order_by: Sequence[Any] = ()
                      ) -> list[RewardClaim]:
    """The claims matching ``conditions``, locked for this transaction and read fresh."""
    if is_sqlite(session):
        touch = sa.update(RewardClaim).where(*conditions).values(revision=RewardClaim.revision)
        await session.execute(touch.execution_options(synchronize_session=False))
    query = (sa.select(RewardClaim).where(*conditions)
             .order_by(*(order_by or (RewardClaim.id,)))
             .with_for_update(skip_locked=skip_locked)
             .execution_options(populate_existing=True))
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


async def lock_claim(session: AsyncSession, claim_id: str) -> RewardClaim | None:
    claims = await lock_claims(session, RewardClaim.id == claim_id)
    return claims[0] if claims else None


async def prior_decided(session: AsyncSession, uscc: str) -> int:
    """How many of the organisation's claims were approved (paid or not) before."""
    return int(await session.scalar(
        sa.select(sa.func.count()).select_from(RewardClaim)
        .where(RewardClaim.uscc == uscc, RewardClaim.status.in_(DECIDED))) or 0)


def search_query(conditions: Sequence[Any]) -> sa.Select:
    return sa.select(RewardClaim).where(*conditions)


# --- cap tallies --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TallyState:
    committed_cny: Decimal
    items: int


async def lock_tally(session: AsyncSession, request: CapRequest, now: datetime) -> TallyState:
    """The tally of one cap (created empty when missing), locked for this transaction, as the
    latest commit left it: one upsert that takes the row lock on PostgreSQL (waiting for a
    concurrent holder, then reading its result) and the writer lock on SQLite. A newer pack
    version that moved the cap moves the stored cap the CHECKs compare with, unless more is
    committed already."""
    insert = dialect_insert(session)(ClaimTally).values(
        key=request.key, cap_cny=request.cap_cny, max_items=request.max_items,
        committed_cny=Decimal("0.00"), items=0, updated_at=now)
    new = insert.excluded
    statement = insert.on_conflict_do_update(index_elements=["key"], set_={
        "cap_cny": sa.case((sa.or_(new.cap_cny.is_(None),
                                   ClaimTally.committed_cny <= new.cap_cny), new.cap_cny),
                           else_=ClaimTally.cap_cny),
        "max_items": sa.case((sa.or_(new.max_items.is_(None),
                                     ClaimTally.items <= new.max_items), new.max_items),
                             else_=ClaimTally.max_items),
        "updated_at": new.updated_at,
    }).returning(ClaimTally.committed_cny, ClaimTally.items)
    row = (await session.execute(statement)).one()
    return TallyState(Decimal(row.committed_cny), int(row.items))


async def move_tally(session: AsyncSession, key: str, *, cny: Decimal, items: int,
                     now: datetime) -> None:
    """Add (or with negative figures release) what a claim holds in one tally; the table's
    CHECKs refuse an over-committed or negative tally whatever happens above."""
    await session.execute(
        sa.update(ClaimTally).where(ClaimTally.key == key)
        .values(committed_cny=ClaimTally.committed_cny + cny, items=ClaimTally.items + items,
                updated_at=now)
        .execution_options(synchronize_session=False))


# --- facts --------------------------------------------------------------------------------------

async def enterprise(session: AsyncSession, uscc: str) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(ENTERPRISES)
                                 .where(ENTERPRISES.c.uscc == uscc))).first()
    return dict(row._mapping) if row is not None else None


async def active_qualifications(session: AsyncSession, uscc: str, today: date
                                ) -> tuple[str, ...]:
    rows = await session.scalars(
        sa.select(RewardQualification.kind).where(
            RewardQualification.uscc == uscc, RewardQualification.active.is_(True),
            sa.or_(RewardQualification.valid_to.is_(None),
                   RewardQualification.valid_to >= today)))
    return tuple(sorted(set(rows)))


async def pool_status(session: AsyncSession, uscc: str) -> str | None:
    return await session.scalar(sa.select(RewardPoolMember.status)
                                .where(RewardPoolMember.uscc == uscc))


async def active_flags(session: AsyncSession, uscc: str) -> list[RewardCreditFlag]:
    return list(await session.scalars(
        sa.select(RewardCreditFlag).where(RewardCreditFlag.uscc == uscc,
                                          RewardCreditFlag.active.is_(True))
        .order_by(RewardCreditFlag.flagged_on, RewardCreditFlag.flag_id)))


async def item(session: AsyncSession, kind: str, ref: str) -> RewardItem | None:
    return await session.get(RewardItem, (kind, ref))
