"""Payloads of the claim events (schemas: shared/events/schemas/claim.*.v1.json).

Every claim event carries the whole claim as it is after the change (a snapshot with its
revision), to ``rewards.v1`` keyed by the claimant's USCC, so a consumer keeps a copy by
applying only newer revisions. One event per transition:

- ``claim.created``: the claim as first stored, after its checks (its status says what they
  decided: awaiting_facts, pending_review, approved or rejected);
- ``claim.approved`` / ``claim.rejected``: every approval and rejection, automatic (without a
  meeting, or ineligible / over a cap — also right after ``claim.created``) or by an officer;
- ``claim.held`` / ``claim.released``: a holding credit flag raised / cleared;
- ``claim.paid``: the fund paid it (the ledger entry is named);
- ``claim.clawed_back``: reopened for recovery; ``claim.recovered``: recovery closed
  (recovered or waived).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.rewards.claims.models import RewardClaim
from services.rewards.db import KERNEL
from services.rewards.policies import packs
from shared.outbox import emit, emit_many


def money_str(value: Decimal | None) -> str | None:
    return f"{Decimal(value):.2f}" if value is not None else None


def _clause(claim: RewardClaim) -> tuple[dict[str, Any], str | None]:
    found = packs.find(claim.pack_ref, claim.rule_code)
    if found is not None:
        rule = found[1]
        return ({"document": rule.source.document, "clause": rule.source.clause,
                 "pack": claim.pack_ref,
                 **({"text": rule.source.text} if rule.source.text else {})}, rule.name_zh)
    # the version that decided it is no longer loaded: its basis still names the clause
    for line in claim.basis or []:
        clause = line.get("clause") or {}
        if clause.get("document") and clause.get("clause"):
            return {"document": clause["document"], "clause": clause["clause"],
                    "pack": claim.pack_ref}, None
    return {"document": claim.pack_ref, "clause": claim.rule_code, "pack": claim.pack_ref}, None


def snapshot(claim: RewardClaim) -> dict[str, Any]:
    clause, name_zh = _clause(claim)
    return {
        "claim_id": claim.id, "uscc": claim.uscc, "enterprise_name": claim.enterprise_name,
        "province_code": claim.province_code, "region_code": claim.region_code,
        "pack": claim.pack_ref, "jurisdiction": claim.jurisdiction,
        "rule_code": claim.rule_code, **({"rule_name_zh": name_zh} if name_zh else {}),
        "clause": clause, "item_kind": claim.item_kind, "item_ref": claim.item_ref,
        "item_date": claim.item_date.isoformat(), "origin": claim.origin,
        "trigger_event_id": claim.trigger_event_id, "status": claim.status,
        "amount_cny": money_str(claim.amount_cny),
        "requested_cny": money_str(claim.requested_cny),
        "doubt_flags": list(claim.doubt_flags or []), "department": claim.department,
        "review_due_on": claim.review_due_on.isoformat() if claim.review_due_on else None,
        "fund_code": claim.fund_code, "decided_by": claim.decided_by,
        "decision_reason": claim.decision_reason, "paid_cny": money_str(claim.paid_cny),
        "paid_on": claim.paid_on.isoformat() if claim.paid_on else None,
        "ledger_entry_id": claim.ledger_entry_id, "hold_reason": claim.hold_reason,
        "recovery_reason": claim.recovery_reason,
        "recovered_cny": money_str(claim.recovered_cny), "basis": list(claim.basis or []),
        "revision": claim.revision, "at": claim.updated_at.isoformat(),
    }


class Pending:
    """The claim events of one unit of work, kept in order and written to the outbox together
    (one multi-row insert): each is the snapshot taken when its transition happened."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, dict[str, Any]]] = []

    def add(self, name: str, claim: RewardClaim) -> None:
        self.rows.append((name, claim.uscc, claim.id, snapshot(claim)))

    async def write(self, session: AsyncSession) -> None:
        rows, self.rows = self.rows, []
        await emit_many(session, KERNEL.outbox, rows)


async def publish(session: AsyncSession, name: str, claim: RewardClaim,
                  pending: Pending | None = None) -> None:
    """Validate and write the claim's snapshot to the outbox (same transaction), now or with
    the other events of ``pending``."""
    if pending is not None:
        pending.add(name, claim)
        return
    await emit(session, KERNEL.outbox, name, key=claim.uscc, subject=claim.id,
               data=snapshot(claim))
