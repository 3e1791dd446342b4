"""Patent term, annual fees (RULES.md §11) and open-licence blockers (§3.3): pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.registry.patents.rules import (FeeStatus, Licence, PatentFacts, PatentStatus, Pledge,
                                             add_years, due_transition, fee_state,
                                             open_licence_checks, patent_year, term_of)


@pytest.mark.parametrize("kind, filed, years, ends", [
    ("invention", date(2016, 3, 10), 20, date(2036, 3, 10)),
    ("pct_invention", date(2016, 3, 10), 20, date(2036, 3, 10)),
    ("utility_model", date(2016, 3, 10), 10, date(2026, 3, 10)),
    ("pct_utility_model", date(2016, 3, 10), 10, date(2026, 3, 10)),
    ("design", date(2021, 5, 31), 10, date(2031, 5, 31)),   # before the 2020 amendment applied
    ("design", date(2021, 6, 1), 15, date(2036, 6, 1)),     # from 2021-06-01: 15 years
    ("invention", date(2004, 2, 29), 20, date(2024, 2, 29)),
    ("utility_model", date(2012, 2, 29), 10, date(2022, 2, 28)),
])
def test_statutory_terms_from_the_filing_date(kind, filed, years, ends):
    term = term_of(kind, filed)
    assert (term.years, term.ends_on) == (years, ends)
    assert term.source["pack"] == "patent-terms@v1"


def test_term_compensation_extends_the_end():
    assert term_of("invention", date(2016, 3, 10), 100).ends_on == date(2036, 6, 18)


def test_patent_years_turn_on_the_anniversary():
    filed = date(2020, 3, 10)
    assert patent_year(filed, filed) == 1
    assert patent_year(filed, date(2021, 3, 9)) == 1
    assert patent_year(filed, date(2021, 3, 10)) == 2
    assert patent_year(filed, date(2030, 3, 10)) == 11
    assert patent_year(filed, date(2019, 1, 1)) == 0


def granted(**changes) -> PatentFacts:
    filed = date(2020, 3, 10)
    term = term_of("invention", filed)
    base = PatentFacts(application_no="202010123456.0", kind="invention", filing_date=filed,
                       status="granted", grant_date=date(2022, 5, 1),
                       annual_fees_paid_through=6, term_years=term.years,
                       term_ends_on=term.ends_on)
    return replace(base, **changes)


def test_fee_state_through_the_year_the_grace_and_the_lapse():
    facts = granted()  # paid through year 6: 2025-03-10 .. 2026-03-09
    assert fee_state(facts, date(2026, 3, 9), 6).status == FeeStatus.paid
    due = fee_state(facts, date(2026, 3, 10), 6)
    assert due.status == FeeStatus.in_grace and due.unpaid_year == 7
    assert due.due_on == date(2026, 3, 10) and due.grace_ends_on == date(2026, 9, 10)
    assert fee_state(facts, date(2026, 9, 10), 6).status == FeeStatus.in_grace
    past = fee_state(facts, date(2026, 9, 11), 6)
    assert past.status == FeeStatus.unpaid_past_grace and "lapses from 2026-03-10" in past.detail
    assert fee_state(replace(facts, annual_fees_paid_through=None), date(2026, 1, 1),
                     6).status == FeeStatus.unknown
    assert fee_state(replace(facts, status="pending", grant_date=None), date(2026, 1, 1),
                     6).status == FeeStatus.not_applicable


def test_the_calendar_expires_and_lapses_granted_patents():
    facts = granted()
    assert due_transition(facts, date(2026, 9, 10), fee_state(facts, date(2026, 9, 10), 6)) is None
    on = date(2026, 9, 11)
    status, ended_on, reason = due_transition(facts, on, fee_state(facts, on, 6))
    assert (status, ended_on) == (PatentStatus.lapsed, date(2026, 3, 10))
    assert "year 7" in reason
    paid = replace(facts, annual_fees_paid_through=20)
    end = date(2040, 3, 10)
    assert due_transition(paid, end - timedelta(days=1),
                          fee_state(paid, end - timedelta(days=1), 6, 20)) is None
    status, ended_on, _ = due_transition(paid, end, fee_state(paid, end, 6, 20))
    assert (status, ended_on) == (PatentStatus.expired, end)
    assert due_transition(replace(facts, status="lapsed", ended_on=date(2026, 3, 10)), end,
                          fee_state(facts, end, 6)) is None


ON = date(2026, 1, 15)


def checks(facts: PatentFacts, on: date = ON) -> dict[str, bool]:
    lines = open_licence_checks(facts, on, fee_state(facts, on, 6, facts.term_years))
    assert [line.rule for line in lines] == ["exclusive_or_sole_licence", "suspended",
                                             "annual_fee_unpaid", "pledged_without_consent",
                                             "not_in_force"]
    assert all(line.source and line.detail for line in lines)
    return {line.rule: line.blocks for line in lines}


def test_a_clean_patent_has_no_blocker():
    assert not any(checks(granted()).values())


@pytest.mark.parametrize("changes, rule", [
    ({"licences": (Licence("L1", "exclusive", "甲公司", date(2025, 1, 1)),)},
     "exclusive_or_sole_licence"),
    ({"licences": (Licence("L2", "sole", "乙公司", date(2025, 1, 1)),)},
     "exclusive_or_sole_licence"),
    ({"suspension_reason": "ownership_dispute", "suspended_since": date(2025, 12, 1)},
     "suspended"),
    ({"suspension_reason": "preservation_order", "suspended_since": date(2025, 12, 1)},
     "suspended"),
    ({"annual_fees_paid_through": 5}, "annual_fee_unpaid"),      # in grace since 2025-03-10
    ({"annual_fees_paid_through": None}, "annual_fee_unpaid"),   # nothing recorded
    ({"pledges": (Pledge("P1", "某银行", date(2025, 1, 1)),)}, "pledged_without_consent"),
    ({"pledges": (Pledge("P1", "某银行", date(2025, 1, 1),
                         pledgee_consent_to_open_licence=False),)}, "pledged_without_consent"),
    ({"status": "lapsed", "ended_on": date(2025, 12, 1)}, "not_in_force"),
    ({"status": "pending", "grant_date": None}, "not_in_force"),
])
def test_each_rule_86_ground_blocks_on_its_own_line(changes, rule):
    result = checks(granted(**changes))
    assert result[rule] is True
    others = {k: v for k, v in result.items() if k != rule and k != "annual_fee_unpaid"}
    assert not any(others.values()), others


@pytest.mark.parametrize("changes", [
    {"licences": (Licence("L1", "ordinary", "甲公司", date(2025, 1, 1)),)},
    {"licences": (Licence("L1", "open", "甲公司", date(2025, 1, 1)),)},
    {"licences": (Licence("L1", "exclusive", "甲公司", date(2024, 1, 1), date(2025, 1, 1)),)},
    {"licences": (Licence("L1", "exclusive", "甲公司", date(2026, 2, 1)),)},   # not yet
    {"pledges": (Pledge("P1", "某银行", date(2025, 1, 1),
                        pledgee_consent_to_open_licence=True),)},
    {"pledges": (Pledge("P1", "某银行", date(2024, 1, 1), date(2025, 6, 1)),)},  # released
])
def test_what_does_not_block(changes):
    assert not any(checks(granted(**changes)).values())


def test_add_years_keeps_the_day_or_falls_back_to_28_february():
    assert add_years(date(2016, 2, 29), 4) == date(2020, 2, 29)
    assert add_years(date(2016, 2, 29), 1) == date(2017, 2, 28)
