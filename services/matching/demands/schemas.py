"""Request and response bodies for technology demands (技术需求库).

Money is CNY yuan (元): sent as a decimal string or number with at most two decimals, returned
as a string with exactly two ("300000.00").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

AmountIn = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2,
                                    examples=["300000.00"], description="CNY yuan (元)")]
MoneyOut = Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]{2}$", examples=["300000.00"])]
#: Invisible characters a pasted title may carry (zero-width space, joiners, word joiner, BOM).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def _visible(value: object) -> object:
    """Drop invisible characters and strip whitespace before the length rules run, so four
    zero-width spaces are an empty title (422), not a 4-character one."""
    if isinstance(value, str):
        return value.translate(_INVISIBLE).strip()
    return value


Title = Annotated[str, BeforeValidator(_visible),
                  Field(min_length=4, max_length=200, description="需求名称, 4-200 chars")]
Description = Annotated[str, BeforeValidator(_visible),
                        Field(min_length=1, max_length=5000,
                              description="需求描述 in the enterprise's own words")]
IpcHints = Annotated[list[Annotated[str, Field(max_length=40)]], Field(
    max_length=20, description="IPC symbols or prefixes: h01m, H01M 10/0525, H01M10 …")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DemandCreate(_In):
    """Post a demand: an enterprise for itself; market_regulation on behalf (with ``uscc``)."""

    uscc: str | None = Field(None, min_length=18, max_length=18,
                             description="the demanding enterprise; default the caller's org")
    title: Title
    description: Description
    technical_field: str | None = Field(None, max_length=500, description="技术领域")
    ipc_hints: IpcHints = Field(default_factory=list)
    industry_code: str | None = Field(None, max_length=10,
                                      description="GB/T 4754-2017; default the enterprise's")
    region_code: str | None = Field(None, max_length=6,
                                    description="GB/T 2260; default the enterprise's")
    budget_min_cny: AmountIn | None = None
    budget_max_cny: AmountIn | None = None
    deadline: date | None = Field(None, description="not in the past; closed (expired) after it")


class DemandUpdate(_In):
    """Change an open demand; fields left out stay as they are. Send the revision as If-Match
    (the ETag) or as ``revision``."""

    revision: int | None = Field(None, ge=1, description="the revision last read")
    title: Title | None = None
    description: Description | None = None
    technical_field: str | None = Field(None, max_length=500)
    ipc_hints: IpcHints | None = None
    industry_code: str | None = Field(None, max_length=10)
    region_code: str | None = Field(None, max_length=6)
    budget_min_cny: AmountIn | None = None
    budget_max_cny: AmountIn | None = None
    deadline: date | None = None


class DemandClosure(_In):
    reason: Literal["fulfilled", "withdrawn", "other"]
    note: str | None = Field(None, max_length=1000)


class DemandRead(BaseModel):
    id: str
    uscc: str
    enterprise_name: str
    title: str
    description: str
    technical_field: str | None
    ipc_hints: list[str]
    industry_code: str | None
    region_code: str | None
    budget_min_cny: MoneyOut | None
    budget_max_cny: MoneyOut | None
    deadline: date | None
    status: Literal["open", "closed"]
    close_reason: str | None
    close_note: str | None
    posted_by: str
    revision: int
    posted_at: datetime
    changed_at: datetime
    closed_at: datetime | None


class DemandPage(BaseModel):
    items: list[DemandRead]
    next_cursor: str | None
