"""Request and response bodies for patents and trademarks (never the ORM classes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.registry.patents.rules import PatentStatus


class OwnerIn(BaseModel):
    """An applicant / patentee. Enterprises, universities (USCC 12…) and institutes give their
    USCC; individuals and foreign owners give a name (and a country)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: str | None = Field(None, max_length=40, description="统一社会信用代码, when the owner has one")
    name: str = Field(min_length=1, max_length=200, description="申请人 / 专利权人名称")
    share: Decimal | None = Field(None, gt=0, le=100, max_digits=5, decimal_places=2,
                                  description="Share in percent; co-owners' shares sum to 100. "
                                              "May be omitted for a sole owner (100)")
    country: str = Field("CN", pattern=r"^[A-Z]{2}$",
                         description="ISO 3166 alpha-2; HK, MO and TW owners are not counted "
                                     "as domestic in the high-value indicator")
    region_code: str | None = Field(None, description="GB/T 2260 region of an owner without a "
                                                      "USCC (e.g. an individual)")


class FamilyMemberIn(BaseModel):
    """An overseas family member (同族专利)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    office: str = Field(pattern=r"^[A-Za-z]{2}$", description="WIPO ST.3 office code: US, EP, "
                                                               "JP, KR, WO …")
    number: str = Field(min_length=1, max_length=40, description="publication / patent number")
    granted: bool = Field(False, description="a granted right (海外同族专利权), not an application")
    granted_on: date | None = None


class AwardType(StrEnum):
    china_patent_award = "china_patent_award"  # 中国专利奖
    national_science_technology_award = "national_science_technology_award"  # 国家科学技术奖
    other = "other"  # e.g. 省专利奖: recorded, does not count for high value


class AwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: AwardType
    year: int = Field(ge=1985, le=2100)
    level: str | None = Field(None, max_length=50, description="金奖 / 银奖 / 优秀奖, 一等奖 …")
    name: str | None = Field(None, max_length=200, description="the award's name (for other)")


class SuspensionReason(StrEnum):
    ownership_dispute = "ownership_dispute"    # 权属纠纷, Rule 103
    preservation_order = "preservation_order"  # 法院财产保全, Rule 104


class SuspensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: SuspensionReason
    since: date


class _Facts(BaseModel):
    annual_fees_paid_through: int | None = Field(
        None, ge=1, le=25, description="Annual fees paid for patent years 1..N (years counted "
                                       "from the filing date)")
    family_members: list[FamilyMemberIn] | None = Field(None, max_length=100)
    awards: list[AwardIn] | None = Field(None, max_length=50)
    strategic_emerging_industry: bool | None = Field(
        None, description="战略性新兴产业, as classified by the IP office (ipbridge does not hold "
                          "CNIPA's IPC concordance, so it does not derive this)")
    sei_industry: str | None = Field(None, max_length=100,
                                     description="e.g. 新一代信息技术产业, 新能源产业")
    suspension: SuspensionIn | None = Field(None, description="中止 (Rules 103/104); null: none")
    term_extension_days: int | None = Field(None, ge=0, le=5 * 366,
                                            description="专利权期限补偿 granted (inventions)")


class PatentCreate(_Facts):
    """Register a patent or application (IP office)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    application_no: str = Field(min_length=8, max_length=40, examples=["202410123456.0"],
                                description="申请号; ZL/CN prefixes, spaces, a missing dot and "
                                            "full-width characters are accepted")
    title: str = Field(min_length=1, max_length=500, description="发明名称")
    abstract: str | None = Field(None, max_length=20_000)
    ipc_codes: list[str] = Field(default_factory=list, max_length=50,
                                 description="IPC symbols, main first (H01M 10/0525)")
    locarno_class: str | None = Field(None, pattern=r"^[0-9]{2}-[0-9]{2}$",
                                      description="designs: Locarno class, e.g. 14-02")
    owners: list[OwnerIn] = Field(min_length=1, max_length=50)
    filing_date: date = Field(description="申请日 (for PCT entries: the international filing date)")
    grant_date: date | None = Field(None, description="授权公告日")
    status: PatentStatus | None = Field(None, description="default: granted with a grant date, "
                                                          "else pending")
    status_date: date | None = Field(None, description="for lapsed / invalidated: the day from "
                                                       "which it is not in force")
    status_reason: str | None = Field(None, max_length=1000)


class PatentUpdate(_Facts):
    """Change status, fees, family, awards, SEI tag or suspension; ``If-Match`` required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: PatentStatus | None = None
    status_date: date | None = Field(None, description="effective date of the status change")
    status_reason: str | None = Field(None, max_length=1000)
    grant_date: date | None = None


class OwnerRead(BaseModel):
    uscc: str | None
    name: str
    share: Decimal
    country: str
    region_code: str | None


class EncumbranceRead(BaseModel):
    kind: str
    reference: str
    active: bool
    starts_on: date
    ends_on: date | None
    pledgee_name: str | None = None
    pledgee_code: str | None = None
    loan_id: str | None = Field(None, description="shown to the owners and to departments")
    amount_10k_cny: Decimal | None = Field(None, description="万元; shown as loan_id")
    pledgee_consent_to_open_licence: bool | None = None
    licence_type: str | None = None
    licensee_name: str | None = None
    licensee_uscc: str | None = None


class HighValueRead(BaseModel):
    is_high_value: bool
    categories: list[str]
    assessed_on: date | None
    pack: str | None = None
    reasons: list[dict[str, Any]] = Field(
        description="Each category and precondition: passed (true/false/null = not assessed), "
                    "detail, source (pack, document, clause)")


class PatentRead(BaseModel):
    application_no: str
    patent_no: str = Field(description="专利号 (ZL + application number)")
    kind: str
    title: str
    abstract: str | None
    ipc_codes: list[str]
    locarno_class: str | None
    owners: list[OwnerRead]
    filing_date: date
    grant_date: date | None
    status: str
    status_date: date | None = Field(description="for ended patents: the day from which it is "
                                                 "not in force")
    status_reason: str | None
    in_force: bool
    term: dict[str, Any] = Field(description="years and ends_on (statutory, from the pack)")
    annual_fees: dict[str, Any] = Field(description="paid through, current year, due, grace")
    family_members: list[dict[str, Any]]
    awards: list[dict[str, Any]]
    strategic_emerging_industry: bool | None
    sei_industry: str | None
    sei_basis: str
    suspension: dict[str, Any] | None
    term_extension_days: int
    high_value: HighValueRead
    encumbrances: list[EncumbranceRead]
    open_license_blockers: list[dict[str, Any]] = Field(
        description="RULES §3.3 / Rule 86 grounds that bar an open-licence declaration now, each "
                    "with its rule; empty when none applies")
    open_license_checks: list[dict[str, Any]] = Field(
        description="Every Rule 86 check, blocking or not (the basis)")
    warnings: list[str] = Field(description="non-fatal findings: number form, dates, owners")
    revision: int
    created_at: datetime
    updated_at: datetime


class PatentPage(BaseModel):
    items: list[PatentRead]
    counts: dict[str, int] = Field(description="total, in_force, high_value for this owner")
    next_cursor: str | None


class TrademarkKind(StrEnum):
    ordinary = "ordinary"            # 普通商标
    collective = "collective"        # 集体商标
    certification = "certification"  # 证明商标


class TrademarkCreate(BaseModel):
    """Register a trademark or geographical-indication mark (IP office)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reg_no: str = Field(min_length=1, max_length=30, description="注册号 (digits; 第/号 and "
                                                                  "spaces are dropped)")
    name: str = Field(min_length=1, max_length=200, description="商标名称 / 文字")
    nice_class: int = Field(ge=1, le=45, description="尼斯分类 class 1-45")
    holder_uscc: str | None = Field(None, max_length=40, description="注册人 USCC")
    holder_name: str = Field(min_length=1, max_length=200)
    mark_kind: TrademarkKind | None = None
    geographical_indication: bool = Field(False, description="地理标志商标 (a collective or "
                                                             "certification mark)")
    gi_product: str | None = Field(None, max_length=200, description="GI product, e.g. 大同黄花")
    registered_on: date | None = None
    expires_on: date | None = None


class TrademarkRead(BaseModel):
    reg_no: str
    name: str
    nice_class: int
    holder_uscc: str | None
    holder_name: str
    mark_kind: str | None
    geographical_indication: bool
    gi_product: str | None
    registered_on: date | None
    expires_on: date | None
    revision: int
    created_at: datetime
    updated_at: datetime
