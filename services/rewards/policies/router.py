"""HTTP for the rewards policy packs: every rule with its trigger, amount, caps, fund and clause."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from services.rewards.policies import packs
from shared.auth import Caller
from shared.errors import NotFound

router = APIRouter(tags=["policies"])


class PolicyPackRead(BaseModel):
    """One pack version as loaded: header, sources, governance and rules (see ``rules``)."""

    model_config = {"extra": "allow"}

    id: str
    version: int
    ref: str = Field(description="id@vN: how a claim's basis names the pack that decided it")
    jurisdiction: str = Field(description="national, or the GB/T 2260 code it covers")
    title: str
    effective_from: date
    effective_to: date | None
    verified: bool
    sources: list[dict[str, Any]]
    governance: dict[str, Any] = Field(description="Review due days, doubt thresholds, the "
                                                   "credit-flag kinds that hold or claw back")
    rules: list[dict[str, Any]] = Field(description="Trigger, eligibility, amount, caps, fund, "
                                                    "department, evidence, clause")
    sha256: str = Field(description="Of the pack file as loaded")
    file: str


class PolicyPackList(BaseModel):
    items: list[PolicyPackRead]


def _read(lp: packs.LoadedPack) -> PolicyPackRead:
    return PolicyPackRead(**packs.describe(lp.pack), sha256=lp.sha256, file=lp.file)


@router.get("/policies", response_model=PolicyPackList,
            summary="Rewards policy packs with their rules and clauses")
async def list_policies(
    caller: Caller,
    jurisdiction: Annotated[str | None, Query(max_length=10, pattern=r"^(national|[0-9]{2,6})$",
                                              description="national, 14, 1402, 420281 …")] = None,
    on: Annotated[date | None, Query(description="Only packs in force on this date")] = None,
) -> PolicyPackList:
    """Every pack version loaded, national first; filter by jurisdiction or a date in force."""
    items = [lp for lp in packs.packs()
             if (jurisdiction is None or lp.pack.jurisdiction == jurisdiction)
             and (on is None or lp.pack.in_force(on))]
    items.sort(key=lambda lp: (lp.pack.jurisdiction != "national", lp.pack.jurisdiction,
                               lp.pack.id, lp.pack.version))
    return PolicyPackList(items=[_read(lp) for lp in items])


@router.get("/policies/{pack_id}", response_model=PolicyPackRead,
            summary="One rewards policy pack (its latest version, or id@vN)")
async def read_policy(
    caller: Caller,
    pack_id: Annotated[str, Path(max_length=70, pattern=r"^[a-z0-9-]+(@v[0-9]+)?$")],
) -> PolicyPackRead:
    """``rewards-shanxi-2025`` gives the newest version, ``rewards-shanxi-2025@v1`` that one."""
    found = [lp for lp in packs.packs()
             if lp.pack.ref == pack_id or lp.pack.id == pack_id]
    if not found:
        raise NotFound(f"no rewards policy pack {pack_id}; known: "
                       f"{', '.join(sorted({lp.pack.id for lp in packs.packs()}))}",
                       detail_zh="未找到该奖励政策包")
    return _read(max(found, key=lambda lp: lp.pack.version))
