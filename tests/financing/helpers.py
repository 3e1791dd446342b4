"""Building financing scenarios through the registry's public API (the facts financing reacts to)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa

from services.financing.facts.models import PatentFact
from tests.factories import enterprise_body
from tests.harness import auth
from tests.registry.ip_factories import patent_body

BANK = "BANK001"


async def new_sme(stack, **overrides) -> str:
    """Register a small private manufacturer (an SME by the 2011 standard); returns its USCC
    once financing has projected it (so what a test does next finds the enterprise)."""
    body = enterprise_body(**overrides)
    resp = await stack.registry.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    await wait_enterprise(stack, body["uscc"])
    return body["uscc"]


async def new_patent(stack, owner_uscc: str | None, *, owners: list[dict] | None = None,
                     **overrides) -> str:
    """Register a granted, in-force invention (fees paid) for ``owner_uscc``; returns its
    application number once financing has projected it."""
    body = patent_body(owner_uscc, **overrides)
    if owners is not None:
        body["owners"] = owners
    resp = await stack.registry.post("/v1/patents", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    number = resp.json()["application_no"]
    await wait_patent_fact(stack.financing_app, number)
    return number


async def wait_patent_fact(app, application_no: str, *, revision: int = 1,
                           timeout: float = 20) -> PatentFact:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with app.state.sessionmaker() as s:
            fact = await s.scalar(sa.select(PatentFact)
                                  .where(PatentFact.application_no == application_no))
        if fact is not None and fact.revision >= revision:
            return fact
        await asyncio.sleep(0.05)
    raise AssertionError(f"financing never projected patent {application_no} r{revision}")


async def wait_entry(stack, uscc: str, predicate=lambda e: e["listed"], *,
                     timeout: float = 20, department: str = "bank", org: str = BANK
                     ) -> dict[str, Any]:
    """Poll ``GET /v1/whitelist/{uscc}`` until ``predicate(entry)`` holds; return the entry."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        resp = await stack.financing.get(f"/v1/whitelist/{uscc}",
                                         headers=auth(department, org))
        last = resp.json() if resp.status_code == 200 else resp.status_code
        if resp.status_code == 200 and predicate(last):
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"whitelist entry for {uscc} never matched; last: {last}")


async def whitelisted_sme(stack, patents: int = 1, **overrides) -> tuple[str, list[str]]:
    """An SME with ``patents`` granted inventions, on the whitelist; (uscc, application_nos)."""
    uscc = await new_sme(stack, **overrides)
    numbers = [await new_patent(stack, uscc) for _ in range(patents)]
    await wait_entry(stack, uscc, lambda e: e["listed"]
                     and len(e["pledgeable_patents"]) == patents)
    return uscc, numbers


async def wait_enterprise(stack, uscc: str, timeout: float = 20) -> None:
    """Until financing has projected the enterprise (its topic is not ordered with the IP one,
    nor with events a test produces itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await stack.financing.get(f"/v1/enterprises/{uscc}", headers=auth("pboc"))
        if resp.status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"financing never projected enterprise {uscc}")
