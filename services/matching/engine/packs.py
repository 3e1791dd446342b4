"""The matching policy pack (``policy_packs/matching-*.yaml``): weights and figures of the engine.

Every figure the engine uses to rank (component weights, IPC level scores, neutral values, BM25
parameters, index maintenance thresholds, push settings) lives in the pack, each group with its
source and confidence; nearly all are ipbridge design figures ([U]), the stock-patent boost is
the one grounded in policy text (存量专利盘活).
"""

from __future__ import annotations

import math
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy import PackSet, PolicyPack
from shared.policy import PolicySource as Clause

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
PACK_PATTERN = "matching-*.yaml"
COMPONENTS = ("text", "ipc", "budget", "region", "industry", "stock")
IPC_LEVELS = ("subgroup", "main_group", "subclass", "class", "section")  # finest first


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class Weights(_Strict):
    """Fixed blend weights (they never renormalise; a query without the information gets the
    component's neutral score instead)."""

    text: Unit
    ipc: Unit
    budget: Unit
    region: Unit
    industry: Unit
    stock: Unit

    @model_validator(mode="after")
    def _sum(self) -> "Weights":
        total = math.fsum(getattr(self, c) for c in COMPONENTS)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"weights must sum to 1 (they sum to {total!r})")
        return self


class Bm25(_Strict):
    k1: float = Field(gt=0.0, le=5.0)
    b: float = Field(ge=0.0, le=1.0)
    method: str = Field(pattern=r"^lucene$", description="bm25s variant; lucene = Lucene's IDF "
                                                          "with Robertson's term saturation")


class TextScale(_Strict):
    """How a BM25 score becomes 0..1 (see engine/scoring.py:text_component)."""

    saturation: float = Field(gt=0.0, le=10.0, description="h in r(1+h)/(r+h): the fraction r of "
                                                            "the query's self-score at which "
                                                            "the text score is (1+h)/2")
    matched_terms_shown: int = Field(ge=0, le=50)


class Fields(_Strict):
    """Field weighting by repetition of the field's tokens (integers: BM25 counts tokens)."""

    title: int = Field(ge=0, le=10)
    technical_field: int = Field(ge=0, le=10)
    keywords: int = Field(ge=0, le=10)
    abstract: int = Field(ge=0, le=10)
    claims: int = Field(ge=0, le=10)
    application_scenarios: int = Field(ge=0, le=10)


class QueryFields(_Strict):
    title: int = Field(ge=0, le=10)
    technical_field: int = Field(ge=0, le=10)
    description: int = Field(ge=0, le=10)


class IpcLevels(_Strict):
    subgroup: Unit
    main_group: Unit
    subclass: Unit
    class_: Unit = Field(alias="class")
    section: Unit
    none: Unit
    unknown: Unit = Field(description="neutral: the query gives no IPC hint or the patent has "
                                      "no IPC code")

    @model_validator(mode="after")
    def _monotone(self) -> "IpcLevels":
        chain = [self.level(n) for n in (*IPC_LEVELS, "none")]
        if chain != sorted(chain, reverse=True):
            raise ValueError("IPC level scores must not increase from subgroup to none")
        return self

    def level(self, name: str) -> float:
        return self.class_ if name == "class" else getattr(self, name)


class Budget(_Strict):
    within: Unit
    royalty_only: Unit
    free: Unit
    unknown_terms: Unit
    no_budget: Unit


class Affinity(_Strict):
    """Region (same prefecture / province) or industry (same division / section)."""

    same_fine: Unit
    same_coarse: Unit
    other: Unit
    unknown: Unit


class Stock(_Strict):
    patentee_types: dict[str, float] = Field(description="patentee type -> boost 0..1; absent "
                                                         "types get 0")

    @model_validator(mode="after")
    def _range(self) -> "Stock":
        bad = {k: v for k, v in self.patentee_types.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"stock boosts must be within 0..1: {bad}")
        return self


class IndexSettings(_Strict):
    candidates: int = Field(ge=1, le=100_000, description="top BM25 docs re-ranked by the blend")
    rebuild_after_pending: int = Field(ge=1, description="added/replaced/removed docs since the "
                                                         "last build that trigger a rebuild")
    rebuild_after_fraction: float = Field(gt=0.0, le=1.0, description="... or this fraction of "
                                                                      "the docs, if fewer")
    sync_rebuild_below_docs: int = Field(ge=0, description="indexes smaller than this rebuild at "
                                                           "once on every change (cheap, exact)")


class Push(_Strict):
    top_n: int = Field(ge=1, le=1000)
    min_score: Unit
    pool_first: bool
    on_publication: bool = Field(description="push a patent when its open licence is published")
    on_pool_admission: bool = Field(description="push fitting patents to an enterprise admitted "
                                                "to the cultivation pool")


class MatchingRules(_Strict):
    weights: Weights
    weight_sources: dict[str, Clause]
    bm25: Bm25
    text: TextScale
    fields: Fields
    query_fields: QueryFields
    ipc_levels: IpcLevels
    budget: Budget
    region: Affinity
    industry: Affinity
    stock: Stock
    index: IndexSettings
    push: Push

    @model_validator(mode="after")
    def _sources(self) -> "MatchingRules":
        missing = set(COMPONENTS) - set(self.weight_sources)
        extra = set(self.weight_sources) - set(COMPONENTS)
        if missing or extra:
            raise ValueError(f"weight_sources must name exactly {list(COMPONENTS)} "
                             f"(missing {sorted(missing)}, unknown {sorted(extra)})")
        return self

    def weight(self, component: str) -> float:
        return float(getattr(self.weights, component))

    def source(self, component: str) -> dict[str, Any]:
        return self.weight_sources[component].model_dump(exclude_none=True)


MatchingPack = PolicyPack[MatchingRules]


@cache
def packs(directory: Path = PACK_DIR) -> PackSet[MatchingRules]:
    return PackSet.load(directory, PACK_PATTERN, MatchingRules)


def load() -> None:
    """Load and validate the packs (a bad pack stops the start, named)."""
    packs()


def pack_on(day: date) -> MatchingPack:
    """The national matching pack in force on ``day``."""
    return packs().in_force(day)


def current() -> MatchingPack:
    """The pack in force today (China time): the engine's default."""
    from shared.db import today_cn

    return pack_on(today_cn())
