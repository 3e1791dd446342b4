"""Every query of the cultivation pool, and the read-only lookups it makes on the registry's
other records (same service: qualifications, patents, products, flags, encumbrances)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.enterprises.models import Enterprise
from services.registry.patents.models import Patent, PatentEncumbrance, PatentOwner
from services.registry.pool.models import PoolEntry, PoolMovement, PoolNomination, PoolProvince
from services.registry.pool.rules import Progress
from services.registry.products.models import Product
from shared.db import CHINA_TZ, utcnow
from shared.projections import dialect_insert

CHUNK = 500


async def entry(session: AsyncSession, uscc: str, *, for_update: bool = False
                ) -> PoolEntry | None:
    query = sa.select(PoolEntry).where(PoolEntry.uscc == uscc)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def nomination(session: AsyncSession, nomination_id: str, *, for_update: bool = False
                     ) -> PoolNomination | None:
    query = sa.select(PoolNomination).where(PoolNomination.id == nomination_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def open_nomination(session: AsyncSession, uscc: str) -> PoolNomination | None:
    return await session.scalar(sa.select(PoolNomination).where(
        PoolNomination.uscc == uscc, PoolNomination.status == "awaiting_co_signature"))


async def nominations_of(session: AsyncSession, uscc: str) -> list[PoolNomination]:
    return list((await session.scalars(
        sa.select(PoolNomination).where(PoolNomination.uscc == uscc)
        .order_by(PoolNomination.created_at.desc(), PoolNomination.id))).all())


async def lock_province(session: AsyncSession, province_code: str) -> None:
    """Serialise admissions of one province (its quota) across replicas and requests."""
    insert = dialect_insert(session)(PoolProvince).values(province_code=province_code,
                                                          touched_at=utcnow())
    await session.execute(insert.on_conflict_do_nothing(index_elements=["province_code"]))
    await session.execute(sa.select(PoolProvince.province_code)
                          .where(PoolProvince.province_code == province_code).with_for_update())


async def movement_counts(session: AsyncSession, province_code: str | None = None
                          ) -> dict[str, dict[str, int]]:
    """province → {admitted, graduated, removed}: movements ever made."""
    query = sa.select(PoolMovement.province_code, PoolMovement.kind, sa.func.count()).group_by(
        PoolMovement.province_code, PoolMovement.kind)
    if province_code is not None:
        query = query.where(PoolMovement.province_code == province_code)
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: {"admitted": 0, "graduated": 0, "removed": 0})
    for province, kind, n in (await session.execute(query)).all():
        out[province][kind] = n
    return out


async def status_counts(session: AsyncSession, province_code: str | None = None
                        ) -> dict[str, dict[str, int]]:
    """province → {admitted, graduated, removed}: where every entry stands now."""
    query = sa.select(PoolEntry.province_code, PoolEntry.status, sa.func.count()).group_by(
        PoolEntry.province_code, PoolEntry.status)
    if province_code is not None:
        query = query.where(PoolEntry.province_code == province_code)
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: {"admitted": 0, "graduated": 0, "removed": 0})
    for province, status, n in (await session.execute(query)).all():
        out[province][status] = n
    return out


async def removals_by_reason(session: AsyncSession, province_code: str | None = None
                             ) -> dict[str, dict[str, int]]:
    query = (sa.select(PoolMovement.province_code, PoolMovement.reason, sa.func.count())
             .where(PoolMovement.kind == "removed")
             .group_by(PoolMovement.province_code, PoolMovement.reason))
    if province_code is not None:
        query = query.where(PoolMovement.province_code == province_code)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for province, reason, n in (await session.execute(query)).all():
        out[province][reason or "unspecified"] = n
    return out


async def awaiting_counts(session: AsyncSession, province_code: str | None = None
                          ) -> dict[str, int]:
    query = (sa.select(PoolNomination.province_code, sa.func.count())
             .where(PoolNomination.status == "awaiting_co_signature")
             .group_by(PoolNomination.province_code))
    if province_code is not None:
        query = query.where(PoolNomination.province_code == province_code)
    return {p: n for p, n in (await session.execute(query)).all()}


async def entries(session: AsyncSession, *, province_code: str | None = None,
                  status: str | None = None, after: str | None = None,
                  limit: int | None = None) -> list[PoolEntry]:
    query = sa.select(PoolEntry).order_by(PoolEntry.uscc)
    if province_code is not None:
        query = query.where(PoolEntry.province_code == province_code)
    if status is not None:
        query = query.where(PoolEntry.status == status)
    if after is not None:
        query = query.where(PoolEntry.uscc > after)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def due_for_window_check(session: AsyncSession, today: date, limit: int
                               ) -> list[PoolEntry]:
    """Admitted entries whose two-year window ended before ``today`` and is not yet checked."""
    return list((await session.scalars(
        sa.select(PoolEntry).where(PoolEntry.status == "admitted",
                                   PoolEntry.window_check == "pending",
                                   PoolEntry.window_ends_on < today)
        .order_by(PoolEntry.window_ends_on, PoolEntry.uscc).limit(limit))).all())


async def movements_of(session: AsyncSession, uscc: str) -> list[PoolMovement]:
    return list((await session.scalars(
        sa.select(PoolMovement).where(PoolMovement.uscc == uscc)
        .order_by(PoolMovement.id))).all())


async def names(session: AsyncSession, usccs: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    wanted = sorted(set(usccs))
    for i in range(0, len(wanted), CHUNK):
        rows = await session.execute(sa.select(Enterprise.uscc, Enterprise.name)
                                     .where(Enterprise.uscc.in_(wanted[i:i + CHUNK])))
        out.update(dict(rows.all()))
    return out


def _cn_date(at: datetime) -> date:
    return at.astimezone(CHINA_TZ).date()


async def progress(session: AsyncSession, usccs: Sequence[str], since: date
                   ) -> dict[str, list[Progress]]:
    """Industrialisation progress of each enterprise dated after ``since``: licences it took,
    pledges on its patents (pledge loans), its products filed and recognised, its patents
    granted. All from the registry's own records, which the events keep current."""
    out: dict[str, list[Progress]] = defaultdict(list)
    wanted = sorted(set(usccs))
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i:i + CHUNK]
        rows = await session.execute(
            sa.select(PatentEncumbrance.licensee_uscc, PatentEncumbrance.starts_on,
                      PatentEncumbrance.reference, PatentEncumbrance.application_no)
            .where(PatentEncumbrance.kind == "licence",
                   PatentEncumbrance.licensee_uscc.in_(chunk),
                   PatentEncumbrance.starts_on > since))
        for uscc, on, ref, number in rows.all():
            out[uscc].append(Progress("licence_taken", on, f"licence {ref} on {number}"))
        rows = await session.execute(
            sa.select(PatentOwner.uscc, PatentEncumbrance.starts_on, PatentEncumbrance.reference,
                      PatentEncumbrance.application_no)
            .join(PatentOwner, PatentOwner.application_no == PatentEncumbrance.application_no)
            .where(PatentEncumbrance.kind == "pledge", PatentOwner.uscc.in_(chunk),
                   PatentEncumbrance.starts_on > since))
        for uscc, on, ref, number in rows.all():
            out[uscc].append(Progress("pledge_registered", on, f"pledge {ref} on {number}"))
        rows = await session.execute(
            sa.select(Product.uscc, Product.id, Product.created_at, Product.recognized_on,
                      Product.status)
            .where(Product.uscc.in_(chunk)))
        for uscc, product_id, created_at, recognized_on, status in rows.all():
            filed_on = _cn_date(created_at)
            if filed_on > since:
                out[uscc].append(Progress("product_filed", filed_on, f"product {product_id}"))
            if status == "recognized" and recognized_on and recognized_on > since:
                out[uscc].append(Progress("product_recognized", recognized_on,
                                          f"product {product_id}"))
        rows = await session.execute(
            sa.select(PatentOwner.uscc, Patent.grant_date, Patent.application_no)
            .join(PatentOwner, PatentOwner.application_no == Patent.application_no)
            .where(PatentOwner.uscc.in_(chunk), Patent.grant_date > since))
        for uscc, on, number in rows.all():
            out[uscc].append(Progress("patent_granted", on, f"patent {number}"))
    return out


async def products_of(session: AsyncSession, uscc: str) -> list[Product]:
    return list((await session.scalars(sa.select(Product).where(Product.uscc == uscc)
                                       .order_by(Product.created_at, Product.id))).all())
