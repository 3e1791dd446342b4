"""Payload of ``compensation.paid`` (schema: shared/events/schemas/compensation.paid.v1.json).

Goes to ``financing.loan.v1`` keyed by the borrower's USCC (after the loan's own events);
webhooks deliver it to the lending bank only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.financing.compensation.models import Claim, Fund, LedgerEntry
from services.financing.compensation.rules import money_str


def paid(claim: Claim, fund: Fund, entry: LedgerEntry, at: datetime) -> dict[str, Any]:
    basis = claim.payment_basis or {}
    return {
        "claim_id": claim.id,
        "loan_id": claim.loan_id,
        "borrower_uscc": claim.borrower_uscc,
        "bank_code": claim.bank_code,
        "fund_id": fund.id,
        "fund_name": fund.name,
        "jurisdiction": fund.jurisdiction,
        "pack": claim.pack,
        "principal_loss_cny": money_str(claim.principal_loss_cny),
        "covered_loss_cny": (basis.get("loss") or {}).get("covered_loss_cny"),
        "shares": [{"party": s["party"], "share": s["share"], "amount_cny": s["amount_cny"]}
                   for s in basis.get("shares") or []],
        "fund_share_cny": basis.get("fund_share_cny"),
        "amount_cny": money_str(claim.paid_cny),
        "binding_cap": basis.get("binding_cap"),
        "fund_balance_after_cny": money_str(entry.balance_after_cny),
        "ledger_entry_id": entry.id,
        "paid_on": claim.paid_on.isoformat(),
        "revision": claim.revision,
        "paid_at": at.isoformat(),
    }
