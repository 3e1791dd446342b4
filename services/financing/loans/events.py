"""Payloads of the loan and pledge events (schemas: shared/events/schemas/loan.*.v1.json,
pledge.*.v1.json).

All go to ``financing.loan.v1`` keyed by the borrower's USCC (the pledgor), so a consumer sees
one enterprise's loans and pledges in order; webhooks deliver them to the lending bank only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.financing.loans.models import Loan, Pledge
from services.financing.loans.rules import money_str, rate_str


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def loan_state(loan: Loan) -> dict[str, Any]:
    """The fields every loan event carries: the loan's current state."""
    return {
        "loan_id": loan.id,
        "borrower_uscc": loan.borrower_uscc,
        "borrower_name": loan.borrower_name,
        "bank_code": loan.bank_code,
        "status": loan.status,
        "requested_amount_cny": money_str(loan.requested_amount_cny),
        "term_months": loan.term_months,
        "applied_on": loan.applied_on.isoformat(),
        "region_code": loan.region_code,
        "province_code": loan.province_code,
        "tier_code": loan.tier_code,
        "pool_member": loan.pool_member,
        "green_channel": loan.green_channel,
        "decision_deadline": _iso(loan.decision_deadline),
        "patents": [p.application_no for p in loan.pledges],
        "pack": loan.pack,
        "revision": loan.revision,
    }


def applied(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | {"purpose": loan.purpose, "applied_at": at.isoformat()}


def _decided(loan: Loan, at: datetime) -> dict[str, Any]:
    return {"decided_on": loan.decided_on.isoformat(), "decision_late": loan.decision_late,
            "decided_at": at.isoformat()}


def approved(loan: Loan, at: datetime) -> dict[str, Any]:
    basis = loan.decision_basis or {}
    return loan_state(loan) | _decided(loan, at) | {
        "approved_amount_cny": money_str(loan.approved_amount_cny),
        "interest_rate": rate_str(loan.interest_rate),
        "approved_term_months": loan.approved_term_months,
        "cap_cny": basis.get("cap", {}).get("cap_cny"),
        "quota_year": loan.quota_year,
        "quota_counted_cny": money_str(loan.quota_counted_cny),
    }


def rejected(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | _decided(loan, at) | {"reason": loan.rejection_reason}


def disbursed(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | {
        "approved_amount_cny": money_str(loan.approved_amount_cny),
        "disbursed_amount_cny": money_str(loan.disbursed_amount_cny),
        "disbursed_on": loan.disbursed_on.isoformat(),
        "maturity_on": loan.maturity_on.isoformat(),
        "interest_rate": rate_str(loan.interest_rate),
        "outstanding_principal_cny": money_str(loan.outstanding_principal_cny),
        "disbursed_at": at.isoformat()}


def repaid(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | {
        "disbursed_amount_cny": money_str(loan.disbursed_amount_cny),
        "repaid_on": loan.repaid_on.isoformat(),
        "released_pledges": [p.id for p in loan.pledges if p.release_reason == "repaid"],
        "repaid_at": at.isoformat()}


def overdue(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | {
        "overdue_since": loan.overdue_since.isoformat(),
        "maturity_on": _iso(loan.maturity_on),
        "outstanding_principal_cny": money_str(loan.outstanding_principal_cny),
        "detected_at": at.isoformat()}


def defaulted(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | {
        "approved_amount_cny": money_str(loan.approved_amount_cny),
        "disbursed_amount_cny": money_str(loan.disbursed_amount_cny),
        "defaulted_on": loan.defaulted_on.isoformat(),
        "overdue_since": _iso(loan.overdue_since),
        "outstanding_principal_cny": money_str(loan.outstanding_principal_cny),
        "principal_loss_cny": money_str(loan.principal_loss_cny),
        "defaulted_at": at.isoformat()}


def compensated(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | {
        "claim_id": loan.compensation_claim_id,
        "compensated_amount_cny": money_str(loan.compensated_amount_cny),
        "principal_loss_cny": money_str(loan.principal_loss_cny),
        "compensated_at": at.isoformat()}


def closed(loan: Loan, at: datetime) -> dict[str, Any]:
    return loan_state(loan) | {"closed_on": loan.closed_on.isoformat(),
                               "close_reason": loan.close_reason, "closed_at": at.isoformat()}


def pledge_state(pledge: Pledge) -> dict[str, Any]:
    return {
        "pledge_id": pledge.id,
        "loan_id": pledge.loan_id,
        "application_no": pledge.application_no,
        "pledgor_uscc": pledge.pledgor_uscc,
        "pledgee_bank_code": pledge.pledgee_bank_code,
        "pledgee_name": pledge.pledgee_name,
        "registration_no": pledge.registration_no,
        "registered_on": _iso(pledge.registered_on),
        "secured_amount_cny": money_str(pledge.secured_amount_cny),
        "pledgee_consent_to_open_licence": pledge.pledgee_consent_to_open_licence,
        "revision": pledge.revision,
    }


def pledge_registered(pledge: Pledge, at: datetime) -> dict[str, Any]:
    return pledge_state(pledge) | {"registered_at": at.isoformat()}


def pledge_released(pledge: Pledge, at: datetime) -> dict[str, Any]:
    return pledge_state(pledge) | {"released_on": pledge.released_on.isoformat(),
                                   "reason": pledge.release_reason,
                                   "released_at": at.isoformat()}
