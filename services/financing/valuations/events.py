"""Payloads of ``valuation.completed`` (schema: shared/events/schemas/valuation.completed.v1.json).

On ``financing.loan.v1``, keyed by the patent's first owner's USCC (else its application number),
so a valuation stays in order with that enterprise's loans and pledges. ``kind`` tells a
platform valuation (``valuation``) from a bank's own internal one recorded beside it
(``bank_internal``); the whitelist and the pledge cap use only the former.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.financing.valuations.methods import round_cny
from services.financing.valuations.models import BankAssessment, Valuation


def _money(value) -> str:
    return format(round_cny(value), "f")


def event_key(valuation: Valuation) -> str:
    return valuation.owner_usccs[0] if valuation.owner_usccs else valuation.application_no


def _common(valuation: Valuation) -> dict[str, Any]:
    return {
        "valuation_id": valuation.id, "application_no": valuation.application_no,
        "patent_kind": valuation.patent_kind, "owner_usccs": list(valuation.owner_usccs),
        "purpose": valuation.purpose, "valuation_date": valuation.valuation_date.isoformat(),
    }


def completed(valuation: Valuation, at: datetime) -> dict[str, Any]:
    return _common(valuation) | {
        "kind": "valuation",
        "value_cny": _money(valuation.value_cny), "low_cny": _money(valuation.low_cny),
        "high_cny": _money(valuation.high_cny), "method": valuation.method,
        "methods": valuation.method.split("+"),
        "valid_until": valuation.valid_until.isoformat() if valuation.valid_until else None,
        "pack": valuation.pack, "inputs_hash": valuation.inputs_hash,
        "completed_at": at.isoformat(),
    }


def bank_internal(valuation: Valuation, assessment: BankAssessment, at: datetime
                  ) -> dict[str, Any]:
    return _common(valuation) | {
        "kind": "bank_internal",
        "assessment_id": assessment.id, "bank_code": assessment.bank_code,
        "value_cny": _money(assessment.value_cny), "method": assessment.method,
        "valued_on": assessment.valued_on.isoformat(),
        "platform_value_cny": _money(valuation.value_cny),
        "completed_at": at.isoformat(),
    }
