"""Every query for patent-intensive products."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.registry.products.models import Product


async def get(session: AsyncSession, product_id: str) -> Product | None:
    query = sa.select(Product).where(Product.id == product_id).options(
        selectinload(Product.patents))
    return (await session.scalars(query)).first()


async def open_filing(session: AsyncSession, uscc: str, name: str) -> Product | None:
    """A filed or recognised product of this enterprise with the same name."""
    query = sa.select(Product).where(Product.uscc == uscc,
                                     sa.func.lower(Product.name) == name.lower(),
                                     Product.status.in_(("filed", "recognized")))
    return (await session.scalars(query)).first()


def add(session: AsyncSession, product: Product) -> None:
    session.add(product)
