"""Risk-compensation errors, each with its HTTP status (rendered as RFC 9457 problem+json)."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, ProblemError

__all__ = ["ClaimAlreadyFiled", "ClaimAlreadyPaid", "ClaimNotEligible", "ClaimNotFound",
           "FundExhausted", "FundNotFound", "InvalidInput", "LoanNotDefaulted", "LoanNotFound",
           "NotLendingBank", "NothingPayable"]


class FundNotFound(NotFound):
    slug = "compensation-fund-not-found"
    title = "Compensation fund not found"


class ClaimNotFound(NotFound):
    slug = "compensation-claim-not-found"
    title = "Compensation claim not found"


class LoanNotFound(NotFound):
    slug = "loan-not-found"
    title = "Loan not found"


class NotLendingBank(Forbidden):
    slug = "not-lending-bank"
    title = "Only the lending bank may do this"


class LoanNotDefaulted(Conflict):
    """409: a claim is filed on a defaulted loan (not yet compensated)."""

    slug = "loan-not-defaulted"
    title = "The loan is not in default"


class ClaimAlreadyFiled(Conflict):
    slug = "compensation-claim-already-filed"
    title = "The loan already has a compensation claim"


class ClaimAlreadyPaid(Conflict):
    slug = "compensation-claim-already-paid"
    title = "The claim is already paid"


class ClaimNotEligible(ProblemError):
    """422: the pack's eligibility rules refuse the claim; ``basis`` lists every rule."""

    status = 422
    slug = "compensation-claim-not-eligible"
    title = "The loan is not eligible for compensation"


class FundExhausted(Conflict):
    """409: the fund's balance cannot pay anything now; the claim stays filed (a deposit lets
    it be paid later)."""

    slug = "compensation-fund-exhausted"
    title = "The compensation fund has no balance left"


class NothingPayable(Conflict):
    """409: a cap other than the balance leaves nothing to pay (e.g. the borrower's yearly
    compensation limit is used up); the claim stays filed."""

    slug = "compensation-nothing-payable"
    title = "A compensation cap leaves nothing to pay"
