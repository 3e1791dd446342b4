"""The equity-track policy pack: who may list through the track, and the pre-IPO IP compliance
checklist (items, periods, minimum inventor rewards), validated at load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy import PackSet, PolicyPack
from shared.policy import PolicySource as Clause

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
PACK_PATTERN = "equity-*.yaml"


class Check(StrEnum):
    """The facts-based checks a checklist item may use (``rules.py``); none: officer only."""

    ownership = "ownership"
    invalidation = "invalidation"
    licences = "licences"
    pledges = "pledges"
    inventor_rewards = "inventor_rewards"
    annual_fees = "annual_fees"


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z_]+$")
    title_zh: str
    title_en: str
    check: Check | None = Field(None, description="Facts-based check; null: the officer assesses")
    clauses: list[Clause] = Field(min_length=1)


class ChecklistRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    core_patent_kinds: list[str] = Field(min_length=1)
    licence_recording_months: int = Field(ge=1, le=24)
    inventor_reward_due_months: int = Field(ge=1, le=24)
    inventor_reward_minimum_cny: dict[str, Decimal]
    items: list[ChecklistItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> "ChecklistRules":
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError("checklist item codes must be unique")
        return self


class ListingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pool_statuses: list[str] = Field(min_length=1, description="Pool statuses that may list "
                                                               "through the track")
    clause: Clause


class InvestmentRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clause: Clause


class EquityPackData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listing: ListingRules
    investment: InvestmentRules
    checklist: ChecklistRules


EquityPack = PolicyPack[EquityPackData]


@cache
def load_packs(directory: Path = PACK_DIR) -> PackSet[EquityPackData]:
    return PackSet.load(directory, PACK_PATTERN, EquityPackData)


def load() -> None:
    """Load and validate the packs (a bad pack stops the start, named)."""
    load_packs()


def pack_on(day: date, field: str = "date") -> EquityPack:
    """The pack in force on ``day``, or 422 naming the date field that chose it."""
    return load_packs().for_date(day, field=field, subject="equity",
                                 subject_zh="股权融资")


def pack_ref(pack: EquityPack) -> str:
    return pack.ref


def clause(c: Clause) -> dict[str, Any]:
    return c.model_dump(exclude_none=True)
