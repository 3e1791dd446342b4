"""SME size class (中小企业划型): a pure rule over an enterprise's figures and the size pack.

RULES.md §6.1: an enterprise is an SME when it is below ANY upper limit of its industry; it is
medium when it meets ALL medium lower limits, else small when it meets ALL small lower limits,
else micro. Figures: employees (persons), revenue and total assets (万元).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.policy import PackSet, PolicyPack

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
Metric = Literal["employees", "revenue", "assets"]
METRIC_LABEL = {"employees": "employees", "revenue": "revenue (万元)", "assets": "total assets (万元)"}


class SizeClass(StrEnum):
    large = "large"
    medium = "medium"
    small = "small"
    micro = "micro"


class SizeGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    name_zh: str
    codes: list[str] = Field(min_length=1, description="section letters, division/group prefixes, or *")
    upper: dict[Metric, int] = Field(min_length=1)
    medium: dict[Metric, int] = Field(min_length=1)
    small: dict[Metric, int] = Field(min_length=1)


class NotCovered(BaseModel):
    code: str
    reason: str


class SizeData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    groups: list[SizeGroup] = Field(min_length=1)
    not_covered: list[NotCovered] = []


@cache
def size_packs() -> PackSet[SizeData]:
    return PackSet.load(PACK_DIR, "sme-size-*.yaml", SizeData)


@dataclass(frozen=True)
class Figures:
    employees: int | None
    revenue: Decimal | None
    assets: Decimal | None
    year: int | None

    def get(self, metric: str) -> Decimal | int | None:
        return {"employees": self.employees, "revenue": self.revenue, "assets": self.assets}[metric]


@dataclass
class SizeDecision:
    size_class: SizeClass | None
    basis: dict[str, Any] = field(default_factory=dict)


def _match(code: str, section: str, pattern: str) -> int:
    """Specificity of a pack code against an industry code (0 = no match)."""
    digits = code[1:] if code[:1].isalpha() else code
    if pattern == "*":
        return 1
    if pattern.isalpha():
        return 2 if pattern == section else 0
    return 2 + len(pattern) if digits.startswith(pattern) else 0


def industry_group(pack: PolicyPack[SizeData], industry_code: str, section: str
                   ) -> SizeGroup | NotCovered:
    """The most specific group (or exclusion) matching a GB/T 4754-2017 code."""
    best: tuple[int, SizeGroup | NotCovered] | None = None
    for entry in [*pack.data.not_covered, *pack.data.groups]:
        patterns = [entry.code] if isinstance(entry, NotCovered) else entry.codes
        score = max(_match(industry_code, section, p) for p in patterns)
        if score and (best is None or score > best[0]):
            best = (score, entry)
    assert best is not None, "the pack must have a '*' group"
    return best[1]


def _check(figures: Figures, limits: dict[str, int], mode: str) -> tuple[bool, list[dict], list[str]]:
    """mode 'below_any' (SME upper limits) or 'all_at_least' (medium/small lower limits)."""
    lines, missing = [], []
    results = []
    for metric, limit in limits.items():
        value = figures.get(metric)
        if value is None:
            missing.append(metric)
            continue
        ok = value < limit if mode == "below_any" else value >= limit
        results.append(ok)
        sign = ("<" if ok else ">=") if mode == "below_any" else (">=" if ok else "<")
        lines.append({"metric": metric, "value": str(value), "limit": limit, "passed": ok,
                      "detail": f"{METRIC_LABEL[metric]} {value} {sign} {limit}"})
    if mode == "below_any":
        passed = any(results)
    else:
        passed = bool(results) and all(results) and not missing
    return passed, lines, missing


def classify_size(industry_code: str | None, section: str | None, figures: Figures,
                  pack: PolicyPack[SizeData]) -> SizeDecision:
    """Decide the size class and return it with its basis (rules, figures, clause)."""
    basis: dict[str, Any] = {
        "rule": "sme_size_classification", "pack": f"{pack.id}@v{pack.version}",
        "sources": pack.cite(), "industry_code": industry_code,
        "figures": {"employees": figures.employees,
                    "revenue_10k_cny": str(figures.revenue) if figures.revenue is not None else None,
                    "total_assets_10k_cny": str(figures.assets) if figures.assets is not None else None,
                    "figures_year": figures.year},
        "checks": [],
    }
    if not industry_code or not section:
        basis["outcome"] = "undetermined: no industry code"
        return SizeDecision(None, basis)
    group = industry_group(pack, industry_code, section)
    if isinstance(group, NotCovered):
        basis["outcome"] = f"not covered: {group.reason}"
        return SizeDecision(None, basis)
    basis["industry_group"] = {"key": group.key, "name_zh": group.name_zh}
    steps = (("sme_upper_limit", group.upper, "below_any", None),
             ("medium_lower_limits", group.medium, "all_at_least", SizeClass.medium),
             ("small_lower_limits", group.small, "all_at_least", SizeClass.small))
    sme, lines, missing = _check(figures, group.upper, "below_any")
    basis["checks"].append({"rule": "sme_upper_limit", "passed": sme, "lines": lines,
                            "meaning": "SME when below ANY upper limit"})
    if not sme:
        if missing:
            basis["outcome"] = f"undetermined: missing {', '.join(missing)}"
            return SizeDecision(None, basis)
        basis["outcome"] = "large"
        return SizeDecision(SizeClass.large, basis)
    for name, limits, mode, result in steps[1:]:
        passed, lines, missing = _check(figures, limits, mode)
        basis["checks"].append({"rule": name, "passed": passed, "lines": lines,
                                "meaning": "ALL lower limits must be met"})
        if missing:
            basis["outcome"] = f"undetermined: missing {', '.join(missing)}"
            return SizeDecision(None, basis)
        if passed:
            basis["outcome"] = result.value
            return SizeDecision(result, basis)
    basis["outcome"] = SizeClass.micro.value
    return SizeDecision(SizeClass.micro, basis)
