"""Building matching scenarios through the registry's public API (the facts matching reacts to)."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from services.matching.facts.models import PatentFact
from tests.factories import enterprise_body
from tests.harness import auth
from tests.registry.ip_factories import patent_body


async def wait_enterprise(stack, uscc: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await stack.matching.get(f"/v1/enterprises/{uscc}", headers=auth())
        if resp.status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"matching never projected enterprise {uscc}")


async def new_enterprise(stack, **overrides) -> str:
    """Register an enterprise at the registry; returns its USCC once matching has projected it."""
    body = enterprise_body(**overrides)
    resp = await stack.registry.post("/v1/enterprises", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    await wait_enterprise(stack, body["uscc"])
    return body["uscc"]


async def new_patent(stack, owner_uscc: str | None, *, owners: list[dict] | None = None,
                     **overrides) -> str:
    """Register a granted, in-force invention (fees paid) for ``owner_uscc`` (title, abstract
    and IPC codes may be overridden); returns its application number once matching has
    projected it."""
    body = patent_body(owner_uscc, **overrides)
    if owners is not None:
        body["owners"] = owners
    resp = await stack.registry.post("/v1/patents", json=body, headers=auth())
    assert resp.status_code == 201, resp.text
    number = resp.json()["application_no"]
    await wait_patent_fact(stack.matching_app, number)
    return number


async def wait_patent_fact(app, application_no: str, check=lambda fact: True, *,
                           timeout: float = 20) -> PatentFact:
    """Poll matching's projection until the patent is there and ``check(fact)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with app.state.sessionmaker() as s:
            fact = await s.scalar(sa.select(PatentFact)
                                  .where(PatentFact.application_no == application_no))
        if fact is not None and check(fact):
            return fact
        await asyncio.sleep(0.05)
    raise AssertionError(f"matching never projected patent {application_no} as expected")
