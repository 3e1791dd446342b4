"""The pledge-loan state machine as data: states, actions, who acts, the transition table.

Pure: no database, no FastAPI. The service asks :func:`next_state` before it changes a loan; an
action the table does not allow from the current state raises :class:`IllegalTransition`, which
the API renders as 409 listing the current state and the transitions allowed from it.

::

    applied ──review──▶ under_review ──approve──▶ approved ──register_pledges──▶ pledge_registered
      │                     ├──reject──▶ rejected ──withdraw──▶ closed                 │
      └──withdraw──▶ closed └──withdraw──▶ closed ◀──withdraw── approved            disburse
                                                                                      ▼
    closed ◀──close── repaid ◀──repay── disbursed ──mark_overdue──▶ overdue ──repay──▶ repaid
    closed ◀──close── compensated ◀──compensate── defaulted ◀──default── overdue
    closed ◀──close── defaulted  (written off without compensation)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LoanStatus(StrEnum):
    applied = "applied"                      # 已申请
    under_review = "under_review"            # 审查中
    approved = "approved"                    # 已批准
    rejected = "rejected"                    # 已拒绝
    pledge_registered = "pledge_registered"  # 质押已登记
    disbursed = "disbursed"                  # 已放款
    repaid = "repaid"                        # 已结清
    overdue = "overdue"                      # 逾期
    defaulted = "defaulted"                  # 违约
    compensated = "compensated"              # 已风险补偿
    closed = "closed"                        # 已关闭


class LoanAction(StrEnum):
    review = "review"
    approve = "approve"
    reject = "reject"
    register_pledges = "register_pledges"
    disburse = "disburse"
    repay = "repay"
    mark_overdue = "mark_overdue"
    default = "default"
    compensate = "compensate"
    close = "close"
    withdraw = "withdraw"


class Actor(StrEnum):
    """Who may take an action: the lending bank, the applicant, or the compensation module."""

    bank = "bank"
    applicant = "applicant"
    compensation = "compensation"


S, A = LoanStatus, LoanAction

#: current state → {action: next state}. Everything not listed is illegal.
TRANSITIONS: dict[LoanStatus, dict[LoanAction, LoanStatus]] = {
    S.applied: {A.review: S.under_review, A.withdraw: S.closed},
    # the applicant may withdraw until the pledge is registered (declining an approval too)
    S.under_review: {A.approve: S.approved, A.reject: S.rejected, A.withdraw: S.closed},
    S.approved: {A.register_pledges: S.pledge_registered, A.withdraw: S.closed},
    S.rejected: {A.withdraw: S.closed},
    S.pledge_registered: {A.disburse: S.disbursed},
    S.disbursed: {A.repay: S.repaid, A.mark_overdue: S.overdue},
    S.overdue: {A.repay: S.repaid, A.default: S.defaulted},
    # the bank closes a defaulted loan without compensation (no fund, claim refused, write-off)
    S.defaulted: {A.compensate: S.compensated, A.close: S.closed},
    S.compensated: {A.close: S.closed},
    S.repaid: {A.close: S.closed},
    S.closed: {},
}

#: Who takes each action (the service checks the caller against it).
ACTORS: dict[LoanAction, Actor] = {
    A.review: Actor.bank, A.approve: Actor.bank, A.reject: Actor.bank,
    A.register_pledges: Actor.bank, A.disburse: Actor.bank, A.repay: Actor.bank,
    A.mark_overdue: Actor.bank, A.default: Actor.bank, A.close: Actor.bank,
    A.withdraw: Actor.applicant, A.compensate: Actor.compensation,
}

#: States in which the loan's pledges are active (reserved by the application, or registered).
PLEDGE_HOLDING: frozenset[LoanStatus] = frozenset({
    S.applied, S.under_review, S.approved, S.pledge_registered, S.disbursed, S.overdue,
    S.defaulted, S.compensated})

#: States awaiting the bank's decision (the green channel's clock runs).
UNDECIDED: frozenset[LoanStatus] = frozenset({S.applied, S.under_review})

TERMINAL: frozenset[LoanStatus] = frozenset(s for s, moves in TRANSITIONS.items() if not moves)


@dataclass(frozen=True)
class Transition:
    action: LoanAction
    to: LoanStatus
    actor: Actor

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action.value, "to": self.to.value, "actor": self.actor.value}


class IllegalTransition(Exception):
    """``action`` is not allowed from ``current``; ``allowed`` lists what is."""

    def __init__(self, current: LoanStatus, action: LoanAction) -> None:
        self.current = current
        self.action = action
        self.allowed = allowed(current)
        names = ", ".join(f"{t.action.value} → {t.to.value}" for t in self.allowed) or "none"
        super().__init__(f"cannot {action.value} a loan that is {current.value}; "
                         f"allowed from {current.value}: {names}")


def allowed(current: LoanStatus) -> list[Transition]:
    """The transitions allowed from ``current``, in table order."""
    return [Transition(action, to, ACTORS[action])
            for action, to in TRANSITIONS[LoanStatus(current)].items()]


def next_state(current: LoanStatus | str, action: LoanAction | str) -> LoanStatus:
    """The state ``action`` leads to from ``current``, or :class:`IllegalTransition`."""
    current, action = LoanStatus(current), LoanAction(action)
    try:
        return TRANSITIONS[current][action]
    except KeyError:
        raise IllegalTransition(current, action) from None


def can_reach(current: LoanStatus | str, target: LoanStatus | str) -> bool:
    """Whether one action moves ``current`` to ``target``."""
    return LoanStatus(target) in TRANSITIONS[LoanStatus(current)].values()
