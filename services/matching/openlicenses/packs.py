"""The open-licence policy pack (``policy_packs/open-license-*.yaml``): the clause each
declaration check cites, the fee soft limits, the fee-range method and the (empty) CNIPA
per-industry royalty table. Validated at load: a bad pack stops the service, named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy import PackSet, PolicyPack
from shared.policy import PolicySource as Clause

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
PACK_PATTERN = "open-license-*.yaml"

#: Every rule code a declaration basis line may carry; the pack must cite a clause for each.
RULE_CODES = ("patent_unknown", "owned_by_declarant", "co_owner_consent", "patentee_type",
              "granted", "in_force", "exclusive_or_sole_licence", "suspended", "annual_fee_paid",
              "pledged_without_consent", "evaluation_report", "term_within_patent", "term_order",
              "fee_terms", "exclusive_while_open", "co_owner_licence_consent")
PATENTEE_TYPES = ("university", "research_institute", "enterprise", "individual", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SoftLimits(_Strict):
    """CNIPA 2024 notice (RULES §3.2): warn above these, never refuse."""

    lump_sum_max_cny: Decimal = Field(gt=0)
    royalty_max_rate: dict[str, Decimal] = Field(description="royalty base → soft maximum")
    clause: Clause

    @model_validator(mode="after")
    def _bases(self) -> "SoftLimits":
        if set(self.royalty_max_rate) != {"net_sales", "profit"}:
            raise ValueError("royalty_max_rate needs exactly net_sales and profit")
        return self


class FeeRange(_Strict):
    """How the suggested royalty range is derived from recorded licences."""

    min_comparables: int = Field(ge=1)
    min_licensors: int = Field(ge=1, description="different licensors the comparables must "
                                                  "come from (no range reveals one's terms)")
    low_quantile: Decimal = Field(ge=0, le=1)
    high_quantile: Decimal = Field(ge=0, le=1)
    flag_above_factor: Decimal = Field(gt=1)
    flag_below_factor: Decimal = Field(gt=0, lt=1)
    verified: bool
    note: str
    clause: Clause

    @model_validator(mode="after")
    def _order(self) -> "FeeRange":
        if self.low_quantile >= self.high_quantile:
            raise ValueError("low_quantile must be below high_quantile")
        return self


class RateRange(_Strict):
    low: Decimal = Field(gt=0, le=1)
    high: Decimal = Field(gt=0, le=1)
    year: int = Field(ge=2000, le=2100, description="statistics year")
    source: Clause


class IndustryRates(_Strict):
    """CNIPA per-industry royalty statistics keyed by GB/T 4754 division or section; ships
    empty (RULES §9: the tables could not be retrieved and must not be invented)."""

    note: str
    rates: dict[str, RateRange] = Field(default_factory=dict)


class OpenLicenseRules(_Strict):
    rule_clauses: dict[str, Clause]
    soft_limits: SoftLimits
    fee_range: FeeRange
    industry_rates: IndustryRates
    patentee_types: dict[str, list[str]] = Field(
        description="USCC positions 1-2 → patentee types allowed (codes not listed: any)")
    evaluation_report_kinds: list[str] = Field(min_length=1)
    max_start_ahead_days: int = Field(ge=1, description="how far ahead a declared term may "
                                                        "start (later is a typing error)")

    @model_validator(mode="after")
    def _complete(self) -> "OpenLicenseRules":
        missing = sorted(set(RULE_CODES) - set(self.rule_clauses))
        if missing:
            raise ValueError(f"rule_clauses lacks {missing}")
        for prefix, types in self.patentee_types.items():
            unknown = sorted(set(types) - set(PATENTEE_TYPES))
            if unknown or not types:
                raise ValueError(f"patentee_types[{prefix}]: unknown or no types {unknown}")
        return self

    def clause(self, code: str) -> dict[str, Any]:
        return self.rule_clauses[code].model_dump(exclude_none=True)


OpenLicensePack = PolicyPack[OpenLicenseRules]


@cache
def packs(directory: Path = PACK_DIR) -> PackSet[OpenLicenseRules]:
    return PackSet.load(directory, PACK_PATTERN, OpenLicenseRules)


def load() -> None:
    """Load and validate the packs (a bad pack stops the start, named)."""
    packs()


def pack_on(day: date) -> OpenLicensePack:
    """The national open-licence pack in force on ``day``."""
    return packs().in_force(day)
