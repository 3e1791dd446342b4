"""Request and response bodies for credit flags (never the ORM classes)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CreditFlagKind(StrEnum):
    """What the credit department found (the 2024 five-ministry plan's removal grounds)."""

    serious_dishonesty = "serious_dishonesty"                     # 严重失信
    tax_evasion = "tax_evasion"                                   # 偷税漏税
    data_fraud = "data_fraud"                                     # 数据造假
    abnormal_patent_application = "abnormal_patent_application"   # 非正常专利申请
    major_safety_accident = "major_safety_accident"               # 重大安全事故


class CreditFlagStatus(StrEnum):
    active = "active"
    cleared = "cleared"


class CreditFlagCreate(BaseModel):
    """Raise a flag on a registered enterprise (credit department)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: str = Field(min_length=15, max_length=40, examples=["91140200MA0K2B3C4D"],
                      description="统一社会信用代码 of the flagged enterprise (must be registered)")
    kind: CreditFlagKind = Field(description=(
        "serious_dishonesty 严重失信, tax_evasion 偷税漏税, data_fraud 数据造假, "
        "abnormal_patent_application 非正常专利申请, major_safety_accident 重大安全事故"))
    source: str = Field(min_length=1, max_length=200, examples=["信用中国（山西）"],
                        description="Who made the finding (list, authority or system)")
    reference: str = Field(min_length=1, max_length=200, examples=["晋税稽罚〔2026〕15号"],
                           description="Number of the decision or list entry")
    flagged_on: date = Field(description="Date of the finding (decision or listing date)")
    description: str | None = Field(None, max_length=2000)


class CreditFlagClearance(BaseModel):
    """Clear a flag (信用修复, decision reversed, listing ended); the reason is published."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=1000, examples=["完成信用修复，已移出名单"])
    cleared_on: date | None = Field(None, description="Default today (China)")


class CreditFlagRead(BaseModel):
    id: str
    uscc: str
    kind: CreditFlagKind
    kind_name_zh: str
    source: str
    reference: str
    flagged_on: date
    description: str | None
    status: CreditFlagStatus
    basis: dict[str, Any] = Field(description="Consequences of the flag and the clauses they "
                                              "come from")
    raised_by: str
    raised_at: datetime
    cleared_on: date | None
    clearance_reason: str | None
    cleared_by: str | None
    cleared_at: datetime | None
    revision: int


class CreditFlagList(BaseModel):
    items: list[CreditFlagRead]
