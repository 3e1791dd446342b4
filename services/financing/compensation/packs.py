"""Policy packs of risk compensation (``policy_packs/compensation-*.yaml``): loaded and
validated at start (shares summing to exactly 1, named); a fund names the pack it applies."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from services.financing.compensation.rules import CompensationPack, CompensationPackData
from shared.policy import PackSet

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
PACK_PATTERN = "compensation-*.yaml"


@cache
def packs(directory: Path = PACK_DIR) -> PackSet[CompensationPackData]:
    return PackSet.load(directory, PACK_PATTERN, CompensationPackData)


def load() -> None:
    """Load and validate the packs (a bad pack stops the start, named)."""
    packs()


def pack_ids() -> list[str]:
    return sorted({p.id for p in packs().packs})


def versions(pack_id: str) -> list[CompensationPack]:
    return [p for p in packs().packs if p.id == pack_id]


def pack_on(pack_id: str, day: date) -> CompensationPack | None:
    """The version of ``pack_id`` in force on ``day`` (None: none was)."""
    return next((p for p in versions(pack_id) if p.in_force(day)), None)
