"""Policy packs of financing's loans (``policy_packs/loans-*.yaml``): loaded and validated at start."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from services.financing.loans.rules import LoanPack, LoanPackData
from shared.policy import PackSet

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
PACK_PATTERN = "loans-*.yaml"


@cache
def packs(directory: Path = PACK_DIR) -> PackSet[LoanPackData]:
    return PackSet.load(directory, PACK_PATTERN, LoanPackData)


def load() -> None:
    """Load and validate the packs (a bad pack stops the start, named)."""
    packs()


def pack_on(day: date) -> LoanPack:
    """The national loans pack in force on ``day`` (the application or decision date)."""
    return packs().in_force(day)
