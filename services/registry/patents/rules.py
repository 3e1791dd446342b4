"""Patent facts and the rules over them: term, annual fees, being in force, open-licence blockers.

Pure functions of facts and a date (no database): the service loads facts, calls these, stores the
outcome. Periods are counted in patent years: year k runs from the (k-1)th anniversary of the
filing date up to the day before the kth; the fee for year k falls due on its first day, may be
paid late within the grace period (RULES.md §11), and the patent lapses from the due date
otherwise. A term of N years ends on the Nth anniversary. Anniversaries of 29 February fall on
28 February (Civil Code counting, RULES.md §10).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.policy import PackSet, PolicyPack

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"


class PatentStatus(StrEnum):
    """Legal status (法律状态) as recorded by the IP office."""

    pending = "pending"          # 申请中 / 审中
    granted = "granted"          # 授权 (in force unless the term has run out)
    lapsed = "lapsed"            # 未缴年费终止
    invalidated = "invalidated"  # 宣告无效
    expired = "expired"          # 期限届满终止


ENDED = (PatentStatus.lapsed, PatentStatus.invalidated, PatentStatus.expired)

#: Allowed status changes (PATCH). ``lapsed → granted`` is the restoration of rights after a
#: late payment (恢复权利) or the correction of a wrongly recorded lapse.
TRANSITIONS: dict[PatentStatus, frozenset[PatentStatus]] = {
    PatentStatus.pending: frozenset({PatentStatus.granted}),
    PatentStatus.granted: frozenset({PatentStatus.lapsed, PatentStatus.invalidated,
                                     PatentStatus.expired}),
    PatentStatus.lapsed: frozenset({PatentStatus.granted}),
    PatentStatus.invalidated: frozenset(),
    PatentStatus.expired: frozenset(),
}


class LicenceType(StrEnum):
    open = "open"            # 开放许可
    exclusive = "exclusive"  # 独占许可
    sole = "sole"            # 排他许可
    ordinary = "ordinary"    # 普通许可


# --- packs --------------------------------------------------------------------------------------

class TermRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filed_from: date
    filed_before: date | None = None
    years: dict[str, int] = Field(description="invention / utility_model / design → years")
    note: str | None = None


class TermsData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[TermRule] = Field(min_length=1)
    annual_fee_grace_months: int = Field(ge=0, le=24)
    late_fee_percent_per_month: Decimal = Field(ge=0)


@cache
def term_packs() -> PackSet[TermsData]:
    return PackSet.load(PACK_DIR, "patent-terms*.yaml", TermsData)


def terms_for(filing_date: date) -> PolicyPack[TermsData]:
    """The terms pack for a filing (the law in force on the filing date); the earliest one for
    a date before every pack (such filings are refused elsewhere, never a crash here)."""
    packs = term_packs()
    try:
        return packs.in_force(filing_date)
    except LookupError:
        return next(p for p in packs.packs if p.jurisdiction == "national")


def _base_kind(kind: str) -> str:
    return {"pct_invention": "invention", "pct_utility_model": "utility_model"}.get(kind, kind)


# --- calendar -----------------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """Same day ``months`` later; a day the target month lacks becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def patent_year(filing_date: date, on: date) -> int:
    """The patent year (1-based) that ``on`` falls in; 0 before the filing date."""
    if on < filing_date:
        return 0
    years = on.year - filing_date.year
    if add_years(filing_date, years) > on:
        years -= 1
    return years + 1


# --- facts --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FamilyMember:
    """An overseas family member (同族专利): office (WIPO ST.3 code) and number."""

    office: str
    number: str
    granted: bool = False
    granted_on: date | None = None


@dataclass(frozen=True)
class Award:
    """china_patent_award (中国专利奖), national_science_technology_award (国家科学技术奖), other."""

    type: str
    year: int
    level: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Pledge:
    """A registered pledge (专利权质押) of the patent."""

    reference: str
    pledgee: str
    starts_on: date
    ends_on: date | None = None
    amount_10k_cny: Decimal | None = None
    pledgee_consent_to_open_licence: bool | None = None
    loan_id: str | None = None

    def active(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on < self.ends_on)


@dataclass(frozen=True)
class Licence:
    """A licence of the patent: open, exclusive (独占), sole (排他) or ordinary (普通)."""

    reference: str
    licence_type: str
    licensee: str | None
    starts_on: date
    ends_on: date | None = None

    def active(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on < self.ends_on)


@dataclass(frozen=True)
class PatentFacts:
    """What the rules need to know about one patent (loaded by the service)."""

    application_no: str
    kind: str
    filing_date: date
    status: str
    grant_date: date | None = None
    ended_on: date | None = None
    annual_fees_paid_through: int | None = None
    term_extension_days: int = 0
    sei_tagged: bool | None = None
    sei_industry: str | None = None
    family: tuple[FamilyMember, ...] = ()
    awards: tuple[Award, ...] = ()
    pledges: tuple[Pledge, ...] = ()
    licences: tuple[Licence, ...] = ()
    suspension_reason: str | None = None
    suspended_since: date | None = None
    #: From the term pack (:func:`term_of`): the term's length and the day it has ended.
    term_years: int | None = None
    term_ends_on: date | None = None


# --- term and fees ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    years: int | None
    ends_on: date | None
    source: dict[str, Any] = field(default_factory=dict)


def term_of(kind: str, filing_date: date, extension_days: int = 0,
            pack: PolicyPack[TermsData] | None = None) -> Term:
    """The statutory term for a filing: years, and the day from which the patent has expired."""
    pack = pack or terms_for(filing_date)
    for rule in pack.data.terms:
        if rule.filed_from <= filing_date and (rule.filed_before is None
                                               or filing_date < rule.filed_before):
            years = rule.years[_base_kind(kind)]
            ends = add_years(filing_date, years) + timedelta(days=extension_days)
            return Term(years, ends, {"pack": f"{pack.id}@v{pack.version}",
                                      "rule": f"filed from {rule.filed_from.isoformat()}",
                                      "years": years, "extension_days": extension_days})
    return Term(None, None, {"pack": f"{pack.id}@v{pack.version}",
                             "rule": "no term rule covers this filing date"})


class FeeStatus(StrEnum):
    not_applicable = "not_applicable"  # not granted (annual fees start with the grant year)
    unknown = "unknown"                # no payment recorded
    paid = "paid"                      # the current patent year is paid
    in_grace = "in_grace"              # overdue, still payable with a surcharge
    unpaid_past_grace = "unpaid_past_grace"  # the patent lapsed from the due date


@dataclass(frozen=True)
class FeeState:
    status: FeeStatus
    current_year: int | None = None
    paid_through: int | None = None
    unpaid_year: int | None = None
    due_on: date | None = None
    grace_ends_on: date | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "current_year": self.current_year,
                "paid_through": self.paid_through, "unpaid_year": self.unpaid_year,
                "due_on": self.due_on.isoformat() if self.due_on else None,
                "grace_ends_on": self.grace_ends_on.isoformat() if self.grace_ends_on else None,
                "detail": self.detail}


def grant_year(facts: PatentFacts) -> int | None:
    return patent_year(facts.filing_date, facts.grant_date) if facts.grant_date else None


def fee_state(facts: PatentFacts, on: date, grace_months: int | None = None,
              term_years: int | None = None) -> FeeState:
    """Where the annual fees stand on ``on`` (RULES.md §11: due on the anniversary, grace 6 months).

    No fee runs past the last year of the term (``term_years``).
    """
    if grace_months is None:
        grace_months = terms_for(facts.filing_date).data.annual_fee_grace_months
    if facts.status != PatentStatus.granted or facts.grant_date is None:
        return FeeState(FeeStatus.not_applicable,
                        detail=f"status {facts.status}: no annual fee is running")
    year = patent_year(facts.filing_date, on)
    if term_years is not None:
        year = min(year, term_years)
    paid = facts.annual_fees_paid_through
    if paid is None:
        return FeeState(FeeStatus.unknown, current_year=year,
                        detail="no annual-fee payment is recorded")
    if paid >= year:
        return FeeState(FeeStatus.paid, current_year=year, paid_through=paid,
                        detail=f"paid through patent year {paid} (current year {year})")
    unpaid = paid + 1
    due = add_years(facts.filing_date, unpaid - 1)
    grace_end = add_months(due, grace_months)
    if on <= grace_end:
        return FeeState(FeeStatus.in_grace, year, paid, unpaid, due, grace_end,
                        f"the fee for patent year {unpaid} fell due on {due.isoformat()} and is "
                        f"unpaid; payable with a surcharge until {grace_end.isoformat()}")
    return FeeState(FeeStatus.unpaid_past_grace, year, paid, unpaid, due, grace_end,
                    f"the fee for patent year {unpaid} fell due on {due.isoformat()} and was not "
                    f"paid by the end of the grace period ({grace_end.isoformat()}): the patent "
                    f"lapses from {due.isoformat()}")


def in_force(facts: PatentFacts, on: date) -> tuple[bool, str]:
    """Whether the patent right is in force on ``on``, with the reason."""
    term_ends_on = facts.term_ends_on
    if facts.grant_date is None or facts.status == PatentStatus.pending:
        return False, "not granted"
    if facts.grant_date > on:
        return False, f"granted only on {facts.grant_date.isoformat()}"
    if facts.status in ENDED and (facts.ended_on is None or facts.ended_on <= on):
        since = f" from {facts.ended_on.isoformat()}" if facts.ended_on else ""
        return False, f"{facts.status}{since}"
    if term_ends_on is not None and on >= term_ends_on:
        return False, f"the term ended on {term_ends_on.isoformat()}"
    return True, f"granted on {facts.grant_date.isoformat()} and in force"


def due_transition(facts: PatentFacts, on: date,
                   fees: FeeState) -> tuple[PatentStatus, date, str] | None:
    """A status change the calendar has made due: expiry at term, lapse for unpaid fees."""
    if facts.status != PatentStatus.granted:
        return None
    if facts.term_ends_on is not None and on >= facts.term_ends_on:
        return (PatentStatus.expired, facts.term_ends_on,
                f"the {facts.term_years}-year term from the filing date ended on "
                f"{facts.term_ends_on.isoformat()} (专利法第四十二条)")
    if fees.status == FeeStatus.unpaid_past_grace and fees.due_on is not None:
        return (PatentStatus.lapsed, fees.due_on, fees.detail + " (实施细则第一百一十五条)")
    return None


# --- open licensing (RULES.md §3.3, Implementing Rules Art 86) -----------------------------------

@dataclass(frozen=True)
class BlockerLine:
    rule: str
    blocks: bool
    detail: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "blocks": self.blocks, "detail": self.detail,
                "source": self.source}


def open_licence_checks(facts: PatentFacts, on: date, fees: FeeState) -> list[BlockerLine]:
    """One line per Rule 86 ground (and being in force, Rule 85); ``blocks`` says which apply."""
    lines: list[BlockerLine] = []
    exclusive = [lic for lic in facts.licences if lic.active(on)
                 and lic.licence_type in (LicenceType.exclusive, LicenceType.sole)]
    lines.append(BlockerLine(
        "exclusive_or_sole_licence", bool(exclusive),
        "; ".join(f"{lic.licence_type} licence {lic.reference} to {lic.licensee or 'unnamed'} "
                  f"since {lic.starts_on.isoformat()}" for lic in exclusive)
        or "no exclusive or sole licence in force",
        "专利法实施细则 第八十六条第(一)项"))
    suspended = facts.suspension_reason is not None and (
        facts.suspended_since is None or facts.suspended_since <= on)
    lines.append(BlockerLine(
        "suspended", suspended,
        (f"procedures suspended ({facts.suspension_reason}) since "
         f"{facts.suspended_since.isoformat() if facts.suspended_since else 'an unrecorded date'}")
        if suspended else "no suspension recorded",
        "专利法实施细则 第八十六条第(二)项; 第一百零三条、第一百零四条"))
    fee_blocks = fees.status in (FeeStatus.unknown, FeeStatus.in_grace,
                                 FeeStatus.unpaid_past_grace)
    lines.append(BlockerLine("annual_fee_unpaid", fee_blocks, fees.detail,
                             "专利法实施细则 第八十六条第(三)项"))
    unconsented = [p for p in facts.pledges
                   if p.active(on) and p.pledgee_consent_to_open_licence is not True]
    lines.append(BlockerLine(
        "pledged_without_consent", bool(unconsented),
        "; ".join(f"pledged to {p.pledgee} since {p.starts_on.isoformat()} without a recorded "
                  "pledgee consent" for p in unconsented)
        or ("pledged, with the pledgee's consent recorded"
            if any(p.active(on) for p in facts.pledges) else "not pledged"),
        "专利法实施细则 第八十六条第(四)项"))
    live, why = in_force(facts, on)
    lines.append(BlockerLine("not_in_force", not live, why,
                             "专利法实施细则 第八十五条（授权公告后）; 专利法第五十条"))
    return lines
