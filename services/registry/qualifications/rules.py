"""Qualification rules as plain functions of data: the pack's shape, validity dates, grant checks.

RULES.md §7: the 专精特新 tiers changed on 2026-04-01 (工信部企业〔2026〕2号 replaced the 2022
暂行办法), so every decision picks the pack in force on the date the validity period starts and
records which pack and clause it applied. Figures marked ``verified: false`` in a pack are
[U] items of RULES.md: they are applied, and the basis says they are unverified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.auth import DEPARTMENTS
from shared.errors import InvalidInput
from shared.policy import PolicyPack, PolicySource


class QualificationKind(StrEnum):
    """The qualifications the registry records (资质 / 称号)."""

    innovative_sme = "innovative_sme"      # 创新型中小企业 (2026: 科技和创新型中小企业)
    zjtx_sme = "zjtx_sme"                  # 专精特新中小企业
    little_giant = "little_giant"          # 专精特新"小巨人"企业
    single_champion = "single_champion"    # 制造业单项冠军企业
    high_tech = "high_tech"                # 高新技术企业
    quality_private = "quality_private"    # 优质民营企业
    ip_advantage = "ip_advantage"          # 知识产权优势企业
    ip_demonstration = "ip_demonstration"  # 知识产权示范企业
    # Recognitions of the IP office that rewards rules are triggered by (issue 6):
    hvp_cultivation_center = "hvp_cultivation_center"    # 高价值专利培育中心 (Shanxi 2025 item 3)
    ip_operation_center = "ip_operation_center"          # 产业知识产权运营中心 (Shanxi 2025 item 3)
    hvp_cultivation_project = "hvp_cultivation_project"  # 高价值专利培育项目（通过验收）(Daye 2023)


class Level(StrEnum):
    national = "national"
    provincial = "provincial"
    municipal = "municipal"


class QualificationStatus(StrEnum):
    active = "active"
    revoked = "revoked"
    expired = "expired"


class KindRule(BaseModel):
    """One kind's policy data: who issues it, at which level, for how long, on what basis."""

    model_config = ConfigDict(extra="forbid")

    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    issuing_department: str = Field(description="The only department that grants and revokes it")
    default_level: Level
    levels: list[Level] = Field(min_length=1, description="Levels this kind may be granted at")
    default_issuing_body: dict[Level, str] = Field(
        default_factory=dict, description="Issuing body recorded when a grant names none")
    validity_years: int | None = Field(
        ge=1, le=10, description="Default validity; null when no source gives one (valid_to "
                                 "must then be sent with every grant)")
    renewable: bool = Field(description="Whether review (复核) extends the same qualification")
    verified: bool = Field(description="False for RULES.md [U]/[X] items (applied, but flagged)")
    note: str | None = None
    sources: list[PolicySource] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "KindRule":
        if self.issuing_department not in DEPARTMENTS:
            raise ValueError(f"issuing_department {self.issuing_department!r} is not one of "
                             f"{', '.join(DEPARTMENTS)}")
        if self.default_level not in self.levels:
            raise ValueError(f"default_level {self.default_level.value} is not in levels")
        stray = set(self.default_issuing_body) - set(self.levels)
        if stray:
            raise ValueError(f"default_issuing_body names levels not allowed: "
                             f"{', '.join(sorted(stray))}")
        return self


class QualificationPackData(BaseModel):
    """The ``data`` section of a qualifications-*.yaml pack: one rule per kind, all kinds."""

    model_config = ConfigDict(extra="forbid")

    kinds: dict[QualificationKind, KindRule]

    @model_validator(mode="after")
    def _all_kinds(self) -> "QualificationPackData":
        missing = [k.value for k in QualificationKind if k not in self.kinds]
        if missing:
            raise ValueError(f"kinds missing: {', '.join(missing)}")
        return self


QualificationPack = PolicyPack[QualificationPackData]


def add_years_minus_one_day(start: date, years: int) -> date:
    """Last day of a period of ``years`` years starting on ``start`` (inclusive).

    The period ends the day before the anniversary; a 29 February start has no anniversary in a
    common year, so the anniversary is 1 March and the period ends on 28 February (the Civil
    Code's month-end rule, 第二百零二条, gives the same day).
    """
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February → no such day
        anniversary = date(start.year + years, 3, 1)
    return anniversary - timedelta(days=1)


def validity_rule_text(years: int) -> str:
    return f"valid_to = valid_from + {years} years − 1 day"


def kind_sources(pack: QualificationPack, kind: QualificationKind) -> list[dict[str, Any]]:
    """Citations of one kind's rule, each tagged with the pack it came from."""
    ref = f"{pack.id}@v{pack.version}"
    return [{"pack": ref, **s.model_dump(exclude_none=True)} for s in pack.data.kinds[kind].sources]


def pack_ref(pack: QualificationPack) -> dict[str, Any]:
    return {"id": pack.id, "version": pack.version,
            "effective_from": pack.effective_from.isoformat(),
            "effective_to": pack.effective_to.isoformat() if pack.effective_to else None}


@dataclass
class Period:
    """A validity period decided from a request and a pack, with its basis."""

    valid_from: date
    valid_to: date
    basis: dict[str, Any] = field(default_factory=dict)


def decide_period(pack: QualificationPack, kind: QualificationKind, valid_from: date,
                  valid_to: date | None, today: date) -> Period:
    """Apply the pack's validity to a period; raise InvalidInput naming the field and rule."""
    rule = pack.data.kinds[kind]
    checks: list[dict[str, Any]] = []
    warnings: list[str] = []
    default_to = (add_years_minus_one_day(valid_from, rule.validity_years)
                  if rule.validity_years else None)
    if valid_to is None:
        if default_to is None:
            raise InvalidInput(
                "valid_to", "valid_to.required_without_pack_default",
                f"policy pack {pack.id}@v{pack.version} gives no default validity for "
                f"{kind.value} ({rule.name_zh}); send valid_to from the certificate",
                message_zh=f"政策包未规定{rule.name_zh}的有效期，请按证书填写有效期截止日",
                pack=pack.id)
        valid_to, source = default_to, "pack_default"
    else:
        source = "request"
    if valid_to < valid_from:
        raise InvalidInput("valid_to", "valid_to.not_before_valid_from",
                           f"valid_to {valid_to.isoformat()} is before valid_from "
                           f"{valid_from.isoformat()}", message_zh="有效期截止日早于起始日")
    checks.append({"rule": "valid_to.not_before_valid_from", "passed": True})
    if valid_to < today:
        raise InvalidInput("valid_to", "valid_to.not_in_past",
                           f"valid_to {valid_to.isoformat()} is before today "
                           f"({today.isoformat()}): the qualification would already have expired",
                           message_zh="有效期截止日早于今天，资格已过期")
    checks.append({"rule": "valid_to.not_in_past", "passed": True, "today": today.isoformat()})
    if default_to is not None and valid_to > default_to:
        if rule.verified:
            raise InvalidInput(
                "valid_to", "valid_to.exceeds_policy_validity",
                f"valid_to {valid_to.isoformat()} is beyond the {rule.validity_years}-year "
                f"validity of {kind.value} ({validity_rule_text(rule.validity_years)} = "
                f"{default_to.isoformat()})",
                message_zh=f"有效期超过政策规定的{rule.validity_years}年")
        warnings.append(f"valid_to is beyond the pack's {rule.validity_years}-year validity, "
                        "accepted because that figure is unverified (RULES.md [U])")
    if default_to is not None:
        checks.append({"rule": "valid_to.within_policy_validity",
                       "passed": valid_to <= default_to, "limit": default_to.isoformat()})
    basis = {
        "valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat(),
        "source": source, "years": rule.validity_years,
        "rule": (validity_rule_text(rule.validity_years) if rule.validity_years
                 else "no default validity in the pack: valid_to taken from the certificate"),
        "verified": rule.verified, "checks": checks,
    }
    if warnings:
        basis["warnings"] = warnings
    return Period(valid_from, valid_to, basis)


def decide_level(rule: KindRule, kind: QualificationKind, level: Level | None
                 ) -> tuple[Level, dict[str, Any]]:
    if level is None:
        return rule.default_level, {"value": rule.default_level.value, "source": "pack_default",
                                    "allowed": [lv.value for lv in rule.levels]}
    if level not in rule.levels:
        raise InvalidInput("level", "level.allowed_for_kind",
                           f"{kind.value} ({rule.name_zh}) is granted at "
                           f"{', '.join(lv.value for lv in rule.levels)} level, not {level.value}",
                           message_zh=f"{rule.name_zh}不能按{level.value}级别授予")
    return level, {"value": level.value, "source": "request",
                   "allowed": [lv.value for lv in rule.levels]}


def issuing_body_for(rule: KindRule, level: Level, given: str | None) -> tuple[str, str]:
    """The issuing body recorded: the one sent, else the pack's default for the level."""
    if given:
        return given, "request"
    default = rule.default_issuing_body.get(level)
    if default is None:
        raise InvalidInput("issuing_body", "issuing_body.required",
                           f"no default issuing body for a {level.value} {rule.name_en}; "
                           "send issuing_body", message_zh="请填写发证机关")
    return default, "pack_default"
