"""Payloads of the events this domain emits (schemas in shared/events/schemas).

Decimals (shares, amounts) travel as strings so no consumer loses a cent to floating point.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from services.registry.patents.models import Patent, Trademark

if TYPE_CHECKING:
    from services.registry.patents.service import Derived


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def encumbrance_summary(patent: Patent, derived: Derived) -> dict[str, Any]:
    """What others need to know about pledges and licences, without loan details."""
    on = derived.on
    pledges = [p for p in derived.facts.pledges if p.active(on)]
    licences = Counter(lic.licence_type for lic in derived.facts.licences if lic.active(on))
    return {
        "pledged": bool(pledges),
        "active_pledges": len(pledges),
        "pledgees": sorted({p.pledgee for p in pledges}),
        "pledgee_consent_to_open_licence": (all(p.pledgee_consent_to_open_licence is True
                                                for p in pledges) if pledges else None),
        "licences": {t: licences.get(t, 0) for t in ("open", "exclusive", "sole", "ordinary")},
    }


def patent_state(patent: Patent, derived: Derived) -> dict[str, Any]:
    """The full state carried by patent.registered / .updated / .status_changed."""
    return {
        "application_no": patent.application_no,
        "patent_no": f"ZL{patent.application_no}",
        "kind": patent.kind,
        "title": patent.title,
        "abstract": patent.abstract,
        "ipc_codes": list(patent.ipc_codes or []),
        "owners": [{"uscc": o.uscc, "name": o.name, "share": str(o.share),
                    "country": o.country, "region_code": o.region_code}
                   for o in patent.owners],
        "filing_date": patent.filing_date.isoformat(),
        "grant_date": _iso(patent.grant_date),
        "status": patent.status,
        "status_date": _iso(patent.ended_on),
        "in_force": derived.in_force,
        "term_ends_on": _iso(derived.term.ends_on),
        "annual_fees_paid_through": patent.annual_fees_paid_through,
        "annual_fee_status": derived.fees.status.value,
        "family_members": [{"office": m["office"], "number": m["number"],
                            "granted": bool(m.get("granted")), "granted_on": m.get("granted_on")}
                           for m in patent.family_members or []],
        "awards": [{"type": a["type"], "year": a["year"], "level": a.get("level")}
                   for a in patent.awards or []],
        "strategic_emerging_industry": patent.sei_tagged,
        "sei_industry": patent.sei_industry,
        "suspended": patent.suspension_reason is not None,
        "high_value": {"is_high_value": patent.is_high_value,
                       "categories": list(patent.high_value_categories or []),
                       "assessed_on": _iso(patent.high_value_assessed_on),
                       "pack": (patent.high_value_basis or {}).get("pack")},
        "encumbrances": encumbrance_summary(patent, derived),
        "open_license_blockers": [line.rule for line in derived.blockers],
        "revision": patent.revision,
    }


def trademark_state(mark: Trademark) -> dict[str, Any]:
    """The state carried by trademark.registered."""
    return {
        "reg_no": mark.reg_no, "name": mark.name, "nice_class": mark.nice_class,
        "holder_uscc": mark.holder_uscc, "holder_name": mark.holder_name,
        "mark_kind": mark.mark_kind, "geographical_indication": mark.geographical_indication,
        "gi_product": mark.gi_product, "registered_on": _iso(mark.registered_on),
        "expires_on": _iso(mark.expires_on), "revision": mark.revision,
    }
