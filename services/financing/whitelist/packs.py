"""The whitelist policy pack: eligibility figures and priority tiers, validated at load."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy import PackSet, PolicyPack
from shared.policy import PolicySource as Clause

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"


class Tier(BaseModel):
    """A priority tier; the first tier (lowest rank) whose condition holds applies. A tier with
    neither ``pool_statuses`` nor ``qualifications`` is the catch-all and must be last."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z_]+$")
    rank: int = Field(ge=1)
    name_zh: str
    name_en: str
    pool_statuses: list[str] = Field(default_factory=list)
    qualifications: list[str] = Field(default_factory=list)
    clause: Clause

    @property
    def catch_all(self) -> bool:
        return not self.pool_statuses and not self.qualifications


class WhitelistRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eligible_size_classes: list[str] = Field(min_length=1)
    sme_evidence_qualifications: list[str] = Field(
        default_factory=list, description="kinds that prove SME status when the size class is "
                                          "unknown (only SMEs can hold them)")
    min_pledgeable_patents: int = Field(ge=1)
    blocking_credit_flags: list[str]
    rule_clauses: dict[str, Clause]
    tiers: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers(self) -> "WhitelistRules":
        ranks = [t.rank for t in self.tiers]
        if ranks != sorted(set(ranks)):
            raise ValueError("tiers must be listed by strictly increasing rank")
        if len({t.code for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier codes must be unique")
        if not self.tiers[-1].catch_all or any(t.catch_all for t in self.tiers[:-1]):
            raise ValueError("exactly one catch-all tier (no condition), and it must be last")
        needed = {"size", "patents", "credit"} | ({"sme_evidence"}
                                                  if self.sme_evidence_qualifications else set())
        missing = needed - set(self.rule_clauses)
        if missing:
            raise ValueError(f"rule_clauses lacks {sorted(missing)}")
        return self

    def clause(self, name: str) -> dict[str, Any]:
        return self.rule_clauses[name].model_dump(exclude_none=True)


WhitelistPack = PolicyPack[WhitelistRules]


@cache
def packs() -> PackSet[WhitelistRules]:
    return PackSet.load(PACK_DIR, "whitelist-*.yaml", WhitelistRules)


def pack_on(day: date) -> WhitelistPack:
    return packs().in_force(day)


def pack_ref(pack: WhitelistPack) -> str:
    return pack.ref


def load() -> None:
    """Load and validate the packs (a bad pack stops the start, named)."""
    packs()
