"""The pledge-loan state machine: every (state, action) pair and every (state, state) pair.

The expected table is written out here from issue 4 / the loans brief, independently of
machine.TRANSITIONS, so a change to the table must be a deliberate change to both.
"""

from __future__ import annotations

import itertools

import pytest

from services.financing.loans.machine import (ACTORS, TRANSITIONS, Actor, IllegalTransition,
                                              LoanAction, LoanStatus, allowed, can_reach,
                                              next_state)

S, A = LoanStatus, LoanAction

EXPECTED: dict[tuple[LoanStatus, LoanAction], LoanStatus] = {
    (S.applied, A.review): S.under_review,
    (S.applied, A.withdraw): S.closed,
    (S.under_review, A.approve): S.approved,
    (S.under_review, A.reject): S.rejected,
    (S.under_review, A.withdraw): S.closed,
    (S.approved, A.withdraw): S.closed,
    (S.defaulted, A.close): S.closed,
    (S.rejected, A.withdraw): S.closed,
    (S.approved, A.register_pledges): S.pledge_registered,
    (S.pledge_registered, A.disburse): S.disbursed,
    (S.disbursed, A.repay): S.repaid,
    (S.disbursed, A.mark_overdue): S.overdue,
    (S.overdue, A.repay): S.repaid,
    (S.overdue, A.default): S.defaulted,
    (S.defaulted, A.compensate): S.compensated,
    (S.compensated, A.close): S.closed,
    (S.repaid, A.close): S.closed,
}

ALL_PAIRS = list(itertools.product(LoanStatus, LoanAction))


@pytest.mark.parametrize(("state", "action"), ALL_PAIRS,
                         ids=[f"{s.value}-{a.value}" for s, a in ALL_PAIRS])
def test_every_state_action_pair(state, action):
    if (state, action) in EXPECTED:
        assert next_state(state, action) is EXPECTED[(state, action)]
        return
    with pytest.raises(IllegalTransition) as caught:
        next_state(state, action)
    err = caught.value
    assert err.current is state and err.action is action
    # The error lists exactly what is allowed from the current state (the 409 body).
    listed = {(t.action, t.to) for t in err.allowed}
    assert listed == {(a, to) for (s, a), to in EXPECTED.items() if s is state}
    assert state.value in str(err)


STATE_PAIRS = list(itertools.product(LoanStatus, LoanStatus))


@pytest.mark.parametrize(("current", "target"), STATE_PAIRS,
                         ids=[f"{a.value}->{b.value}" for a, b in STATE_PAIRS])
def test_every_state_state_pair(current, target):
    reachable = target in {to for (s, _), to in EXPECTED.items() if s is current}
    assert can_reach(current, target) is reachable


def test_table_has_every_state_and_nothing_else():
    assert set(TRANSITIONS) == set(LoanStatus)
    actual = {(s, a): to for s, moves in TRANSITIONS.items() for a, to in moves.items()}
    assert actual == EXPECTED


def test_closed_is_the_only_terminal_state():
    assert [s for s in LoanStatus if not allowed(s)] == [S.closed]


def test_every_state_reaches_closed():
    """No dead end other than closed: from every state some path ends in closed."""
    for start in LoanStatus:
        seen, frontier = {start}, [start]
        while frontier:
            for t in allowed(frontier.pop()):
                if t.to not in seen:
                    seen.add(t.to)
                    frontier.append(t.to)
        assert S.closed in seen, start


def test_actors():
    bank_actions = {A.review, A.approve, A.reject, A.register_pledges, A.disburse, A.repay,
                    A.mark_overdue, A.default, A.close}
    assert {a for a, who in ACTORS.items() if who is Actor.bank} == bank_actions
    assert ACTORS[A.withdraw] is Actor.applicant
    assert ACTORS[A.compensate] is Actor.compensation
    assert set(ACTORS) == set(LoanAction)


def test_strings_are_accepted_and_unknown_names_are_errors():
    assert next_state("applied", "review") is S.under_review
    with pytest.raises(ValueError):
        next_state("applied", "approve_everything")
    with pytest.raises(ValueError):
        next_state("pending", "review")
