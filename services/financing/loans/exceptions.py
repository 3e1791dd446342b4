"""Loan errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from __future__ import annotations

from typing import Any

from services.financing.loans.machine import IllegalTransition
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, ProblemError

__all__ = ["BorrowerNotKnown", "ConsentAlreadyRecorded", "ConsentNotFound", "InvalidInput",
           "LoanNotFound", "NotLendingBank", "NotLoanParty", "NotPatentOwner",
           "PatentAlreadyPledged", "PatentNotFound", "PatentsNotPledgeable", "PledgeCapExceeded",
           "QuotaBelowUsage", "QuotaExceeded", "QuotaNotSet", "TransitionNotAllowed"]


class LoanNotFound(NotFound):
    slug = "loan-not-found"
    title = "Loan not found"


class PatentNotFound(NotFound):
    slug = "patent-not-found"
    title = "Patent not known to financing"


class BorrowerNotKnown(ProblemError):
    """The applicant is not (yet) in financing's enterprise projection (422)."""

    status = 422
    slug = "borrower-not-known"
    title = "Applicant not registered"


class NotLendingBank(Forbidden):
    slug = "not-lending-bank"
    title = "Only the lending bank may do this"


class NotLoanParty(Forbidden):
    slug = "not-loan-party"
    title = "Not a party to this loan"


class NotPatentOwner(Forbidden):
    slug = "not-patent-owner"
    title = "Not an owner of this patent"


class TransitionNotAllowed(Conflict):
    """409 for an action the state machine does not allow from the loan's state; the body lists
    the current state and the transitions allowed from it."""

    slug = "loan-transition-not-allowed"
    title = "Not allowed in the loan's current state"

    @classmethod
    def of(cls, exc: IllegalTransition, loan_id: str) -> "TransitionNotAllowed":
        return cls(str(exc), detail_zh=f"贷款当前状态（{exc.current.value}）不允许此操作",
                   loan_id=loan_id, current_status=exc.current.value,
                   attempted_action=exc.action.value,
                   allowed_transitions=[t.as_dict() for t in exc.allowed])


def _patent_errors(failures: list[tuple[int, str, Any]]) -> list[dict[str, Any]]:
    return [{"field": f"patents[{i}]", "application_no": number, "rule": check.rule,
             "message": check.message, "message_zh": check.message_zh,
             "figures": check.figures} for i, number, check in failures]


class PatentsNotPledgeable(ProblemError):
    """422: one or more patents fail a pledge rule; ``errors`` names each patent and rule."""

    status = 422
    slug = "patent-not-pledgeable"
    title = "Patent cannot be pledged"

    def __init__(self, failures: list[tuple[int, str, Any]]) -> None:
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(f"{first[2].message}{more}", detail_zh=first[2].message_zh,
                         errors=_patent_errors(failures))


class PatentAlreadyPledged(Conflict):
    """409: a patent is already pledged (registered at CNIPA, or under another application)."""

    slug = "patent-already-pledged"
    title = "Patent already pledged"

    def __init__(self, failures: list[tuple[int, str, Any]]) -> None:
        super().__init__(failures[0][2].message, detail_zh="该专利已质押，不能重复质押",
                         errors=_patent_errors(failures),
                         application_nos=[n for _, n, _ in failures])


class PledgeCapExceeded(ProblemError):
    """422: the approved amount is above Σ pledge rate × valuation, or a valuation is missing."""

    status = 422
    slug = "pledge-cap-exceeded"
    title = "Approved amount above the pledge cap"


class QuotaExceeded(Conflict):
    slug = "pool-quota-exceeded"
    title = "Dedicated pool credit quota exceeded"


class QuotaNotSet(Conflict):
    slug = "pool-quota-not-set"
    title = "No dedicated pool credit quota set for the year"


class QuotaBelowUsage(Conflict):
    slug = "quota-below-usage"
    title = "Quota lower than what is already used"


class ConsentAlreadyRecorded(Conflict):
    slug = "consent-already-recorded"
    title = "This co-owner's consent is already recorded"


class ConsentNotFound(NotFound):
    slug = "consent-not-found"
    title = "No active consent of this co-owner"
