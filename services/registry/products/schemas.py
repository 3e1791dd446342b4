"""Request and response bodies for patent-intensive products (专利密集型产品)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ProductCreate(BaseModel):
    """An enterprise files a product for recognition as patent-intensive."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: str | None = Field(None, max_length=40,
                             description="the filing enterprise; default and only allowed value: "
                                         "the caller's own organisation")
    name: str = Field(min_length=1, max_length=200, description="产品名称")
    description: str | None = Field(None, max_length=5000)
    patents: list[str] = Field(min_length=1, max_length=50,
                               description="application numbers of the filer's own granted, "
                                           "in-force patents the product embodies")
    figures_year: int = Field(ge=2000, le=2100, description="the year of the sales and profit")
    annual_sales_10k_cny: Decimal = Field(ge=0, max_digits=16, decimal_places=2,
                                          description="年销售额, 万元")
    annual_profit_10k_cny: Decimal = Field(max_digits=16, decimal_places=2,
                                           description="年利润, 万元 (may be negative)")


class Decision(StrEnum):
    recognised = "recognised"
    rejected = "rejected"


class RecognitionCreate(BaseModel):
    """The IP office's decision on a filed product."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Decision
    reason: str | None = Field(None, max_length=2000,
                               description="required when rejected; recorded either way")
    recognized_on: date | None = Field(None, description="date of recognition (default today)")


class ProductPatentRead(BaseModel):
    application_no: str
    kind: str
    title: str
    status: str
    in_force: bool
    is_high_value: bool


class ProductRead(BaseModel):
    id: str
    uscc: str
    enterprise_name: str | None
    name: str
    description: str | None
    patents: list[ProductPatentRead]
    figures_year: int
    annual_sales_10k_cny: Decimal
    annual_profit_10k_cny: Decimal
    status: str = Field(description="filed | recognized | rejected")
    decision_reason: str | None
    decided_at: datetime | None
    recognized_on: date | None
    revision: int
    created_at: datetime
    updated_at: datetime
