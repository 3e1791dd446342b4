"""Request and response bodies for qualifications (never the ORM classes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.registry.qualifications.rules import Level, QualificationKind, QualificationStatus

_CERTIFICATE = Field(min_length=1, max_length=64, examples=["GR202314000123"],
                     description="证书编号 as printed; NFKC-normalised and upper-cased. Unique "
                                 "per kind: a second grant with the same number is a 409")


class QualificationCreate(BaseModel):
    """Grant a qualification (only the department that issues the kind may)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: QualificationKind = Field(description=(
        "innovative_sme 创新型中小企业 (from 2026-04-01 科技和创新型中小企业), zjtx_sme 专精特新中小企业, "
        "little_giant 专精特新“小巨人”, single_champion 制造业单项冠军 (all MIIT); high_tech "
        "高新技术企业 (science_tech); quality_private 优质民营企业 (private_economy); ip_advantage "
        "知识产权优势企业 / ip_demonstration 知识产权示范企业, hvp_cultivation_center 高价值专利培育中心, "
        "ip_operation_center 产业知识产权运营中心, hvp_cultivation_project 高价值专利培育项目（通过验收） "
        "(market_regulation, the IP office)"))
    level: Level | None = Field(None, description="national / provincial / municipal; default "
                                                  "from the policy pack for the kind")
    issuing_body: str | None = Field(None, min_length=1, max_length=200,
                                     examples=["山西省工业和信息化厅"],
                                     description="发证机关; default from the policy pack")
    certificate_no: str = _CERTIFICATE
    valid_from: date | None = Field(None, description="有效期起始日; default today (China). "
                                                      "Picks the policy pack in force")
    valid_to: date | None = Field(None, description="有效期截止日 (inclusive); default valid_from "
                                                    "+ the pack's validity years − 1 day")


class QualificationRenewal(BaseModel):
    """Record a passed review (复核): the same qualification gets a new validity period."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    certificate_no: str | None = Field(None, min_length=1, max_length=64,
                                       description="New certificate number, if one was issued")
    valid_from: date | None = Field(None, description="Start of the new period; default the "
                                                      "day after the current valid_to")
    valid_to: date | None = Field(None, description="End of the new period; default from the "
                                                    "pack in force on the new valid_from")


class QualificationRevocation(BaseModel):
    """Revoke a qualification (撤销); the reason is recorded and published."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=1000, examples=["复核发现申报数据造假"],
                        description="Why the issuing department revoked it")
    revoked_on: date | None = Field(None, description="Date of the revocation decision; "
                                                      "default today (China)")


class QualificationRead(BaseModel):
    id: str
    uscc: str
    kind: QualificationKind
    kind_name_zh: str = Field(description="Name under the pack that decided the current period")
    kind_name_en: str
    level: Level
    issuing_department: str
    issuing_body: str
    certificate_no: str
    valid_from: date
    valid_to: date
    status: QualificationStatus
    in_force: bool = Field(description="active and today (China) within valid_from..valid_to")
    renewal_count: int
    revoked_on: date | None
    revocation_reason: str | None
    expired_on: date | None
    basis: dict[str, Any] = Field(description="Why: pack id/version, clauses, validity rule "
                                              "applied, checks; one entry per renewal")
    revision: int
    granted_by: str
    created_at: datetime
    updated_at: datetime


class QualificationList(BaseModel):
    items: list[QualificationRead]
