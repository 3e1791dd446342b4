"""Whitelist eligibility and priority tier: a pure function of the facts and the pack.

An enterprise is listed when it is an SME (by the registry's size class), holds at least the
pack's minimum of pledgeable patents — by the loan application's own pledge rules: granted, in
force, of a pledgeable kind (invention or utility model), not suspended, not already pledged,
every co-owner consented — and has no active credit flag of a blocking kind. The tier is the first
of the pack's tiers whose condition holds (pool membership, then qualifications). Every rule
is returned with pass / fail, its figures and its clause, so the entry explains itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.financing.loans.rules import LoanPack, patent_checks
from services.financing.loans.rules import PatentView as LoanPatentView
from services.financing.whitelist.packs import WhitelistPack, pack_ref


@dataclass(frozen=True)
class PatentView:
    application_no: str
    patent_no: str | None
    kind: str
    title: str
    status: str
    in_force: bool
    term_ends_on: date | None
    suspended: bool
    registry_pledged: bool
    financing_pledged: bool
    high_value: bool
    owners: list[dict[str, Any]]
    consented: frozenset[str] = frozenset()
    valuation: dict[str, Any] | None = None


@dataclass(frozen=True)
class Facts:
    uscc: str
    enterprise: dict[str, Any] | None
    patents: list[PatentView] = field(default_factory=list)
    qualifications: list[dict[str, Any]] = field(default_factory=list)
    credit_flags: list[dict[str, Any]] = field(default_factory=list)
    pool: dict[str, Any] | None = None


@dataclass(frozen=True)
class Decision:
    listed: bool
    tier: dict[str, Any] | None
    pledgeable: list[dict[str, Any]]
    basis: dict[str, Any]


def owner_key(owner: dict[str, Any]) -> str:
    """How a co-owner is named in a consent: its USCC, else its name (individuals, foreign)."""
    return owner.get("uscc") or owner["name"]


def patent_failures(uscc: str, patent: PatentView, loan_pack: LoanPack, today: date
                    ) -> list[str]:
    """The pledge rules ``patent`` fails for ``uscc`` (empty: pledgeable). The rules are the
    loan application's (``loans.rules.patent_checks``, pack ``loans-pledge``), so the whitelist
    never shows a patent a loan application would refuse."""
    view = LoanPatentView(
        application_no=patent.application_no, kind=patent.kind, status=patent.status,
        in_force=patent.in_force, suspended=patent.suspended,
        registry_pledged=patent.registry_pledged,
        owners=tuple((o.get("uscc"), o["name"]) for o in patent.owners),
        term_ends_on=patent.term_ends_on)
    checks = patent_checks(view, patent.application_no, uscc, loan_pack,
                           actively_pledged=patent.financing_pledged,
                           consented_owner_keys=set(patent.consented), today=today)
    return [c.rule for c in checks if not c.passed]


def _qualification_active(q: dict[str, Any], today: date) -> bool:
    return (q["status"] == "active"
            and (q.get("valid_from") is None or q["valid_from"] <= today)
            and (q.get("valid_to") is None or today <= q["valid_to"]))


def _tier(facts: Facts, pack: WhitelistPack, today: date) -> dict[str, Any]:
    active = [q for q in facts.qualifications if _qualification_active(q, today)]
    for tier in pack.data.tiers:
        reason, evidence = None, None
        if facts.pool is not None and facts.pool["status"] in tier.pool_statuses:
            reason = f"cultivation pool: {facts.pool['status']}"
            evidence = {"pool_status": facts.pool["status"],
                        "admitted_on": _iso(facts.pool.get("admitted_on"))}
        else:
            match = next((q for q in active if q["kind"] in tier.qualifications), None)
            if match is not None:
                reason = f"qualification {match['kind']} valid to {_iso(match.get('valid_to'))}"
                evidence = {"qualification_id": match["qualification_id"],
                            "kind": match["kind"], "certificate_no": match.get("certificate_no"),
                            "valid_to": _iso(match.get("valid_to"))}
            elif tier.catch_all:
                reason = "eligible; no priority condition met"
        if reason is not None:
            return {"code": tier.code, "rank": tier.rank, "name_zh": tier.name_zh,
                    "name_en": tier.name_en, "reason": reason, "evidence": evidence,
                    "clause": tier.clause.model_dump(exclude_none=True)}
    raise AssertionError("the pack guarantees a catch-all tier")  # pragma: no cover


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def evaluate(facts: Facts, pack: WhitelistPack, today: date, loan_pack: LoanPack) -> Decision:
    rules = pack.data
    results: list[dict[str, Any]] = []

    enterprise = facts.enterprise
    results.append({
        "rule": "enterprise.known", "passed": enterprise is not None,
        "meaning": "financing has received the registry's enterprise record",
        "figures": {}, "clause": None})
    size_class = enterprise.get("size_class") if enterprise else None
    active = [q for q in facts.qualifications if _qualification_active(q, today)]
    evidence = (next((q for q in active if q["kind"] in rules.sme_evidence_qualifications), None)
                if enterprise is not None and size_class is None else None)
    size_rule = {
        "rule": "size.sme",
        "passed": size_class in rules.eligible_size_classes or evidence is not None,
        "meaning": "a small or medium-sized enterprise by the registry's size classification",
        "figures": {"size_class": size_class, "eligible": rules.eligible_size_classes},
        "clause": rules.clause("size")}
    if evidence is not None:
        size_rule["meaning"] = ("no figures to classify the size; a qualification only SMEs "
                                "can hold is in force")
        size_rule["figures"]["sme_evidence"] = {
            "qualification_id": evidence["qualification_id"], "kind": evidence["kind"],
            "certificate_no": evidence.get("certificate_no"),
            "valid_to": _iso(evidence.get("valid_to"))}
        size_rule["clause"] = rules.clause("sme_evidence")
    results.append(size_rule)

    pledgeable, excluded = [], []
    for patent in sorted(facts.patents, key=lambda p: p.application_no):
        failed = patent_failures(facts.uscc, patent, loan_pack, today)
        if failed:
            excluded.append({"application_no": patent.application_no, "failed": failed})
            continue
        pledgeable.append({
            "application_no": patent.application_no, "patent_no": patent.patent_no,
            "kind": patent.kind, "title": patent.title, "high_value": patent.high_value,
            "co_owned": len(patent.owners) > 1,
            "term_ends_on": _iso(patent.term_ends_on),
            "valuation": patent.valuation})
    results.append({
        "rule": "patents.pledgeable",
        "passed": len(pledgeable) >= rules.min_pledgeable_patents,
        "meaning": "granted, in-force invention or utility-model patents, ownership clear, "
                   "not suspended, not pledged",
        "figures": {"pledgeable": len(pledgeable), "required": rules.min_pledgeable_patents,
                    "examined": len(facts.patents), "excluded": excluded,
                    "pledge_rules": pack_ref(loan_pack)},
        "clause": rules.clause("patents")})

    blocking = [f for f in facts.credit_flags
                if f["status"] == "active" and f["kind"] in rules.blocking_credit_flags]
    results.append({
        "rule": "credit.no_active_flag", "passed": not blocking,
        "meaning": "no active credit flag of a blocking kind",
        "figures": {"active_flags": [{"flag_id": f["flag_id"], "kind": f["kind"],
                                      "reference": f.get("reference")} for f in blocking],
                    "blocking_kinds": rules.blocking_credit_flags},
        "clause": rules.clause("credit")})

    listed = all(r["passed"] for r in results)
    tier = _tier(facts, pack, today) if listed else None
    basis = {"rules": results, "failed": [r["rule"] for r in results if not r["passed"]],
             "tier": tier, "pack": pack_ref(pack), "sources": pack.cite(),
             "verified": pack.verified, "evaluated_on": today.isoformat()}
    return Decision(listed=listed, tier=tier, pledgeable=pledgeable if listed else [],
                    basis=basis)
