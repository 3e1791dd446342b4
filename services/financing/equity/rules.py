"""Pre-IPO IP compliance checklist as plain functions of data: facts → each item's status.

An item is decided by the facts where the facts can decide it (a pledged patent, a patent whose
procedures are suspended, an unpaid annual fee), otherwise it waits for the CSRC officer's
assessment. The officer's assessment wins, but turning a facts-based ``issue`` into ``ok`` or
``n/a`` needs a note (e.g. "pledge disclosed in the prospectus §4.2"), so the basis always says
who decided and why.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from services.financing.equity.packs import Check, ChecklistItem, ChecklistRules, clause


class ItemStatus(StrEnum):
    ok = "ok"
    issue = "issue"
    n_a = "n/a"
    unassessed = "unassessed"


#: Statuses an officer may give (``unassessed`` is only the absence of a decision).
ASSESSABLE = (ItemStatus.ok, ItemStatus.issue, ItemStatus.n_a)
CONTRACT_LICENCES = ("exclusive", "sole", "ordinary")  # open licences are not contracts (Art 51)


@dataclass(frozen=True)
class PatentView:
    """What the checklist needs of one patent the enterprise owns (from ``PatentFact``)."""

    application_no: str
    kind: str
    status: str
    in_force: bool
    suspended: bool
    grant_date: date | None
    annual_fee_status: str | None
    co_owned: bool
    pledged: bool
    pledgees: tuple[str, ...] = ()
    licences: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Computed:
    """A check's finding: ``status`` None when the facts cannot decide the item."""

    status: ItemStatus | None
    note: str
    figures: dict[str, Any]


@dataclass(frozen=True)
class Assessment:
    status: ItemStatus
    note: str | None
    by: str
    at: str


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _numbers(patents: list[PatentView]) -> list[str]:
    return [p.application_no for p in patents]


def check_ownership(patents: list[PatentView], rules: ChecklistRules) -> Computed:
    core = [p for p in patents if p.kind in rules.core_patent_kinds and p.in_force]
    suspended = [p for p in core if p.suspended]
    figures = {"core_patents": _numbers(core), "co_owned": _numbers([p for p in core
                                                                      if p.co_owned]),
               "suspended": _numbers(suspended)}
    if not core:
        return Computed(ItemStatus.issue, "no in-force invention or utility-model patent is "
                                          "recorded for the enterprise", figures)
    if suspended:
        return Computed(ItemStatus.issue, "procedures suspended (ownership dispute or "
                                          "preservation, Rules 103-105): "
                        + ", ".join(figures["suspended"]), figures)
    return Computed(ItemStatus.ok, f"{len(core)} in-force core patent(s), none under an "
                                   f"ownership suspension", figures)


def check_invalidation(patents: list[PatentView], rules: ChecklistRules) -> Computed:
    invalidated = [p for p in patents if p.status == "invalidated"]
    figures = {"invalidated": _numbers(invalidated)}
    if invalidated:
        return Computed(ItemStatus.issue, "invalidated: " + ", ".join(figures["invalidated"]),
                        figures)
    return Computed(None, "no patent recorded as invalidated; pending invalidation requests are "
                          "not among the registry's facts: the officer assesses", figures)


def check_licences(patents: list[PatentView], rules: ChecklistRules) -> Computed:
    contracts = {p.application_no: {t: p.licences.get(t, 0) for t in CONTRACT_LICENCES}
                 for p in patents if any(p.licences.get(t, 0) for t in CONTRACT_LICENCES)}
    figures = {"licence_contracts": contracts,
               "recording_months": rules.licence_recording_months}
    if not contracts:
        return Computed(ItemStatus.n_a, "no licence contract on record", figures)
    total = sum(sum(c.values()) for c in contracts.values())
    return Computed(None, f"{total} licence contract(s) on record: confirm each was recorded "
                          f"with CNIPA within {rules.licence_recording_months} months of taking "
                          f"effect", figures)


def check_pledges(patents: list[PatentView], rules: ChecklistRules) -> Computed:
    pledged = [p for p in patents if p.pledged]
    figures = {"pledged": [{"application_no": p.application_no, "pledgees": list(p.pledgees)}
                           for p in pledged]}
    if not pledged:
        return Computed(ItemStatus.ok, "no patent of the enterprise is pledged", figures)
    return Computed(ItemStatus.issue, "pledged: " + ", ".join(_numbers(pledged))
                    + "; each pledge must be disclosed", figures)


def check_inventor_rewards(patents: list[PatentView], rules: ChecklistRules) -> Computed:
    granted = sorted((p for p in patents if p.grant_date is not None),
                     key=lambda p: (p.grant_date, p.application_no))
    minimum = rules.inventor_reward_minimum_cny
    figures = {"due_months": rules.inventor_reward_due_months, "granted": [
        {"application_no": p.application_no, "kind": p.kind,
         "granted_on": p.grant_date.isoformat(),
         "reward_due_by": add_months(p.grant_date, rules.inventor_reward_due_months).isoformat(),
         "statutory_minimum_cny": f"{minimum[p.kind]:.2f}" if p.kind in minimum else None}
        for p in granted]}
    if not granted:
        return Computed(ItemStatus.n_a, "no granted patent", figures)
    return Computed(None, f"{len(granted)} granted patent(s): confirm the inventors' rewards "
                          "(agreed, or at least the statutory minimum within "
                          f"{rules.inventor_reward_due_months} months of grant)", figures)


def check_annual_fees(patents: list[PatentView], rules: ChecklistRules) -> Computed:
    late = [p for p in patents if p.annual_fee_status in ("in_grace", "unpaid_past_grace")]
    lapsed = [p for p in patents if p.status == "lapsed"]
    figures = {"late": [{"application_no": p.application_no, "annual_fee_status":
                         p.annual_fee_status} for p in late], "lapsed": _numbers(lapsed)}
    if not patents:
        return Computed(ItemStatus.n_a, "no patent recorded", figures)
    if late:
        return Computed(ItemStatus.issue, "annual fee overdue: " + ", ".join(_numbers(late)),
                        figures)
    return Computed(ItemStatus.ok, "no annual fee overdue", figures)


CHECKS = {Check.ownership: check_ownership, Check.invalidation: check_invalidation,
          Check.licences: check_licences, Check.pledges: check_pledges,
          Check.inventor_rewards: check_inventor_rewards, Check.annual_fees: check_annual_fees}


class OverrideNeedsNote(ValueError):
    """An officer cleared a facts-based issue without saying why."""


def decide_item(item: ChecklistItem, patents: list[PatentView], rules: ChecklistRules,
                assessment: Assessment | None) -> dict[str, Any]:
    """One item's status with its basis: the facts' finding, the officer's assessment, and
    which of them decided."""
    computed = CHECKS[item.check](patents, rules) if item.check is not None else None
    if assessment is not None:
        if (computed is not None and computed.status == ItemStatus.issue
                and assessment.status != ItemStatus.issue and not assessment.note):
            raise OverrideNeedsNote(item.code)
        status, decided_by = assessment.status, "officer"
        note = assessment.note or (computed.note if computed else None)
    elif computed is not None and computed.status is not None:
        status, decided_by, note = computed.status, "facts", computed.note
    else:
        status, decided_by = ItemStatus.unassessed, None
        note = computed.note if computed else "awaiting the officer's assessment"
    return {
        "code": item.code, "title_zh": item.title_zh, "title_en": item.title_en,
        "status": status.value, "decided_by": decided_by, "note": note,
        "computed": None if computed is None else {
            "check": item.check.value,
            "status": computed.status.value if computed.status else None,
            "note": computed.note, "figures": computed.figures},
        "assessment": None if assessment is None else {
            "status": assessment.status.value, "note": assessment.note, "by": assessment.by,
            "at": assessment.at},
        "clauses": [clause(c) for c in item.clauses],
    }


def summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per status; ``ready`` when nothing is an issue or unassessed."""
    counts = {s.value: 0 for s in ItemStatus}
    for item in items:
        counts[item["status"]] += 1
    return {"counts": counts,
            "ready": counts[ItemStatus.issue.value] == 0
            and counts[ItemStatus.unassessed.value] == 0}
