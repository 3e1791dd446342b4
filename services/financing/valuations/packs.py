"""Valuation policy packs (``policy_packs/valuation-*.yaml``): the shape of their ``data`` and the
loader.

Everything a valuation decides with — which patent kinds GB/T 42748-2023 covers, how the methods
are weighted per purpose, the ± spread of a single-method range, the market approach's window
and default adjustment factors, the value-indicator tree and its weights per scenario, the legal
indicators' scores — is pack data. RULES.md §4.1 could not read the standard's 14 / 27 indicator
names [X], so the tree's names are placeholders (``name_confidence: U``) and the pack is
``verified: false``; the code reads keys, never names.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy import PackSet, PolicyPack

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
PACK_PATTERN = "valuation-*.yaml"


class Purpose(StrEnum):
    """Why the patent is valued (GB/T 42748-2023 scenarios, RULES.md §4.1)."""

    pledge_financing = "pledge_financing"   # 质押融资
    licensing = "licensing"                 # 许可
    transfer = "transfer"                   # 转让
    other = "other"


class Approach(StrEnum):
    income = "income"   # 收益法
    market = "market"   # 市场法
    cost = "cost"       # 成本法


FACTOR_NAMES = ("technology", "remaining_term", "time", "region", "exclusivity")
FactorName = Literal["technology", "remaining_term", "time", "region", "exclusivity"]
FIRST_LEVEL = ("legal", "technical", "economic")


class Cited(BaseModel):
    """Where a group of figures comes from, carried into every basis that applies them."""

    model_config = ConfigDict(extra="forbid")

    document: str
    clause: str
    confidence: Literal["C", "S", "U", "X"]
    note: str | None = None

    def cite(self, pack_ref: str) -> dict[str, Any]:
        return {"pack": pack_ref, **self.model_dump(exclude_none=True)}


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: list[str] = Field(min_length=1, description="Patent kinds the standard covers")
    source: Cited


class MethodWeights(BaseModel):
    """How the methods used are combined: weighted mean, weights renormalised over those used."""

    model_config = ConfigDict(extra="forbid")

    by_purpose: dict[Purpose, dict[Approach, Decimal]]
    source: Cited

    @model_validator(mode="after")
    def _complete(self) -> "MethodWeights":
        for purpose in Purpose:
            weights = self.by_purpose.get(purpose)
            if weights is None:
                raise ValueError(f"by_purpose.{purpose.value} missing")
            for approach in Approach:
                if weights.get(approach, Decimal(0)) <= 0:
                    raise ValueError(f"by_purpose.{purpose.value}.{approach.value} must be > 0")
        return self


class Spread(BaseModel):
    """Range of a valuation that used a single method: value × (1 ∓ spread)."""

    model_config = ConfigDict(extra="forbid")

    single_method: Decimal = Field(ge=0, lt=1)
    source: Cited


class Validity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: int = Field(ge=1, le=60, description="valid_until = valuation_date + months − 1 day")
    source: Cited


class SoftLimits(BaseModel):
    """Above these the valuation is made but carries a warning (never a rejection)."""

    model_config = ConfigDict(extra="forbid")

    royalty_rate_max: Decimal = Field(gt=0, le=1)
    profit_split_max: Decimal = Field(gt=0, le=1)
    source: Cited


class MarketRules(BaseModel):
    """Market approach: which recorded licences count as comparables, and default factors."""

    model_config = ConfigDict(extra="forbid")

    max_comparables: int = Field(ge=1, le=100)
    lookback_years: int = Field(ge=1, le=30,
                                description="Licences granted more than this before the "
                                            "valuation date are not comparables")
    aggregate: Literal["mean", "median"]
    default_factors: dict[FactorName, Decimal]
    factor_min: Decimal = Field(gt=0)
    factor_max: Decimal = Field(gt=0)
    source: Cited

    @model_validator(mode="after")
    def _factors(self) -> "MarketRules":
        missing = [f for f in FACTOR_NAMES if f not in self.default_factors]
        if missing:
            raise ValueError(f"default_factors missing: {', '.join(missing)}")
        if self.factor_min > self.factor_max:
            raise ValueError("factor_min > factor_max")
        for name, value in self.default_factors.items():
            if not self.factor_min <= value <= self.factor_max:
                raise ValueError(f"default_factors.{name} outside factor_min..factor_max")
        return self


class IndicatorLeaf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    weight: Decimal = Field(gt=0, description="Weight within its first-level indicator")


class IndicatorGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Literal["legal", "technical", "economic"]
    name_zh: str
    name_en: str
    name_confidence: Literal["C", "S", "U", "X"]
    children_name_confidence: Literal["C", "S", "U", "X"]
    source: Literal["patent_fact", "request"] = Field(
        description="Legal indicators are computed from financing's patent fact; technical and "
                    "economic ones are scored by the caller (0-100)")
    children: list[IndicatorLeaf] = Field(min_length=1)


class ScenarioWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_level: dict[Literal["legal", "technical", "economic"], Decimal]
    leaves: dict[str, Decimal] = Field(default_factory=dict,
                                       description="Leaf weight overrides for this scenario")

    @model_validator(mode="after")
    def _positive(self) -> "ScenarioWeights":
        for key in FIRST_LEVEL:
            if self.first_level.get(key, Decimal(0)) <= 0:  # type: ignore[call-overload]
                raise ValueError(f"first_level.{key} must be > 0")
        for key, value in self.leaves.items():
            if value <= 0:
                raise ValueError(f"leaves.{key} must be > 0")
        return self


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_least: Decimal
    score: Decimal = Field(ge=0, le=100)


class LegalScoring(BaseModel):
    """Scores of the legal indicators computed from the patent fact (placeholders, [U])."""

    model_config = ConfigDict(extra="forbid")

    remaining_term_bands: list[Band] = Field(
        min_length=1, description="By remaining legal term as a share of the statutory term; "
                                  "the first band whose at_least the share reaches")
    annual_fee_status: dict[str, Decimal] = Field(
        description="paid, in_grace, unknown, not_applicable → score")
    overseas_family: dict[Literal["granted_abroad", "none"], Decimal]
    licensing_status: dict[Literal["pledged", "exclusive_or_sole", "ordinary_or_open",
                                   "unlicensed"], Decimal]
    stability: dict[Literal["normal", "suspended"], Decimal]
    high_value_category_bands: list[Band] = Field(
        min_length=1, description="By the number of high-value categories (RULES.md §5)")

    @model_validator(mode="after")
    def _ranges(self) -> "LegalScoring":
        for name in ("annual_fee_status", "overseas_family", "licensing_status", "stability"):
            for key, value in getattr(self, name).items():
                if not 0 <= value <= 100:
                    raise ValueError(f"{name}.{key} must be within 0..100")
        for name in ("remaining_term_bands", "high_value_category_bands"):
            bands = getattr(self, name)
            if [b.at_least for b in bands] != sorted((b.at_least for b in bands), reverse=True):
                raise ValueError(f"{name} must be ordered by at_least, highest first")
            if bands[-1].at_least > 0:
                raise ValueError(f"{name}: the last band must start at 0")
        for key in ("paid", "in_grace", "unknown", "not_applicable"):
            if key not in self.annual_fee_status:
                raise ValueError(f"annual_fee_status.{key} missing")
        return self


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_least: Decimal = Field(ge=0, le=100)
    grade: str
    meaning: str


class Indicators(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tree: list[IndicatorGroup]
    scenarios: dict[Purpose, ScenarioWeights]
    legal_scoring: LegalScoring
    grades: list[Grade] = Field(min_length=1)
    source: Cited

    @model_validator(mode="after")
    def _consistent(self) -> "Indicators":
        keys = [g.key for g in self.tree]
        if sorted(keys) != sorted(FIRST_LEVEL):
            raise ValueError("tree must have exactly the legal, technical and economic groups")
        leaves = [leaf.key for g in self.tree for leaf in g.children]
        if len(leaves) != len(set(leaves)):
            raise ValueError("leaf keys must be unique across the tree")
        for purpose in Purpose:
            if purpose not in self.scenarios:
                raise ValueError(f"scenarios.{purpose.value} missing")
            stray = set(self.scenarios[purpose].leaves) - set(leaves)
            if stray:
                raise ValueError(f"scenarios.{purpose.value}.leaves: unknown {sorted(stray)}")
        legal = next(g for g in self.tree if g.key == "legal")
        if legal.source != "patent_fact":
            raise ValueError("the legal group is computed from the patent fact")
        unknown = {leaf.key for leaf in legal.children} - set(LEGAL_LEAVES)
        if unknown:
            raise ValueError(f"legal leaves the code cannot compute: {sorted(unknown)} "
                             f"(known: {', '.join(LEGAL_LEAVES)})")
        if [g.at_least for g in self.grades] != sorted((g.at_least for g in self.grades),
                                                       reverse=True) \
                or self.grades[-1].at_least != 0:
            raise ValueError("grades ordered by at_least, highest first, the last at 0")
        return self


#: Legal indicators the code knows how to compute from a patent fact (keys, not names).
LEGAL_LEAVES = ("remaining_term", "legal_status", "overseas_family", "licensing_status",
                "stability", "high_value_category")


class ValuationPackData(BaseModel):
    """The ``data`` section of a valuation-*.yaml pack."""

    model_config = ConfigDict(extra="forbid")

    scope: Scope
    method_weights: MethodWeights
    spread: Spread
    validity: Validity
    soft_limits: SoftLimits
    market: MarketRules
    indicators: Indicators


ValuationPack = PolicyPack[ValuationPackData]


@cache
def load_packs(directory: Path = PACK_DIR) -> PackSet[ValuationPackData]:
    """All valuation packs, validated; a bad or overlapping pack raises shared.policy.PolicyPackError."""
    return PackSet.load(directory, PACK_PATTERN, ValuationPackData)


def load() -> None:
    """Load and validate the packs (a bad pack stops the start, named)."""
    load_packs()


def pack_on(day: date, field: str = "valuation_date") -> ValuationPack:
    """The pack in force on ``day``, or 422 naming the date field that chose it."""
    return load_packs().for_date(day, field=field, subject="valuation (GB/T 42748-2023)",
                                 subject_zh="专利评估")


def pack_ref(pack: ValuationPack) -> str:
    return pack.ref
