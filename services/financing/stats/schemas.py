"""Response bodies of the regulators' statistics (figures as strings: money with two decimals,
shares and hours as decimal strings)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

Money = str


class _Row(BaseModel):
    """The grouping fields present are those asked for in ``group_by``."""

    model_config = ConfigDict(extra="forbid")

    month: str | None = Field(None, description="YYYY-MM")
    province_code: str | None = None
    region_code: str | None = None
    bank_code: str | None = None
    tier_code: str | None = Field(None, description="whitelist tier at application (null: "
                                                    "not on the whitelist)")


class VolumeRow(_Row):
    approved_count: int = Field(description="loans approved (by decision month)")
    approved_amount_cny: Money
    disbursed_count: int = Field(description="loans disbursed (by disbursement month)")
    disbursed_amount_cny: Money


class PrivateShareRow(_Row):
    loans: int = Field(description="approved pledge loans")
    amount_cny: Money
    private_loans: int = Field(description="of which to private enterprises (民营)")
    private_amount_cny: Money
    count_share: str | None = Field(description="private_loans / loans")
    amount_share: str | None = Field(description="private_amount / amount")


class GreenChannelRow(_Row):
    decisions: int = Field(description="green-channel decisions (approve or reject)")
    within_deadline: int
    timeliness: str | None = Field(description="within_deadline / decisions")
    median_hours: str | None = Field(description="median hours from application to decision")


class CompensationRow(BaseModel):
    month: str | None = None
    fund_id: str
    fund_name: str
    jurisdiction: str
    claims_paid: int
    paid_cny: Money


class StatsRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_month: str = Field(alias="from", description="first month (YYYY-MM)")
    to_month: str = Field(alias="to", description="last month (YYYY-MM), inclusive")
    group_by: list[str]
    generated_at: datetime
    definitions: dict[str, str] = Field(description="What each section counts")
    volume: list[VolumeRow]
    private_share: list[PrivateShareRow]
    green_channel: list[GreenChannelRow]
    compensation: list[CompensationRow]
