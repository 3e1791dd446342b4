"""Open-licence rules as plain functions of data (RULES.md §3, §9): may this patent be declared
by this declarant on these terms, which Rule 86 bars suspend a published licence, and what fee
guidance to give. No database here: the service loads the facts and stores what these decide.

Every check returns a basis line ``{code, passed, detail, clause}`` (plus the request ``field`` a
failure concerns, and the figures used), so an officer can answer "why?" from the API alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.matching.openlicenses.packs import OpenLicensePack, OpenLicenseRules
from shared.identifiers import INDUSTRY_SECTIONS

CENT = Decimal("0.01")
LIVE_STATUSES = ("declared", "published", "suspended")
#: What a person may do next from each status (suspension and reinstatement follow the facts).
TRANSITIONS: dict[str, list[str]] = {"declared": ["publication", "withdrawal"],
                                     "published": ["withdrawal"], "suspended": ["withdrawal"],
                                     "withdrawn": [], "refused": []}
PAYMENT_METHODS = ("lump_sum", "royalty", "entry_fee_plus_royalty", "free")
#: Registry blockers (Rule 86 grounds, not in force) → the check that reports each.
BLOCKER_CHECKS = {"exclusive_or_sole_licence": "exclusive_or_sole_licence",
                  "suspended": "suspended", "annual_fee_unpaid": "annual_fee_paid",
                  "pledged_without_consent": "pledged_without_consent",
                  "not_in_force": "in_force"}


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal | None) -> str | None:
    """CNY yuan as a string with exactly two decimals, or None."""
    return None if value is None else f"{money(value):f}"


def rate_str(value: Decimal | None) -> str | None:
    """A rate as its shortest decimal string ("0.05"), the same on every backend."""
    return None if value is None else f"{Decimal(value).normalize():f}"


# --- the facts a decision reads -----------------------------------------------------------------

@dataclass(frozen=True)
class PatentSnapshot:
    """What matching knows of a patent (its projection of the registry), decoupled from the ORM."""

    application_no: str
    kind: str
    status: str
    in_force: bool
    term_ends_on: date | None
    annual_fee_status: str | None
    suspended: bool
    encumbrances: dict[str, Any]
    blockers: list[str]
    owners: list[dict[str, Any]]
    grant_date: date | None = None
    #: Exclusive / sole licences matching itself recorded and not ended ({"exclusive": 1}): the
    #: registry's summary only learns of them by event, so the checks read both.
    recorded_here: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, fact: Any, recorded_here: dict[str, int] | None = None) -> "PatentSnapshot":
        return cls(application_no=fact.application_no, kind=fact.kind, status=fact.status,
                   in_force=bool(fact.in_force), term_ends_on=fact.term_ends_on,
                   annual_fee_status=fact.annual_fee_status, suspended=bool(fact.suspended),
                   encumbrances=dict(fact.encumbrances or {}), blockers=list(fact.blockers or []),
                   owners=[dict(o) for o in fact.owners or []],
                   grant_date=getattr(fact, "grant_date", None),
                   recorded_here=dict(recorded_here or {}))

    def licences(self, kind: str) -> int:
        """Licences of ``kind`` known: the registry's count, or matching's own if higher."""
        registry = int(((self.encumbrances.get("licences") or {}).get(kind)) or 0)
        return max(registry, int(self.recorded_here.get(kind) or 0))


@dataclass(frozen=True)
class FeeTerms:
    payment_method: str
    lump_sum_cny: Decimal | None = None
    entry_fee_cny: Decimal | None = None
    royalty_rate: Decimal | None = None
    royalty_base: str | None = None

    @property
    def fixed_fee(self) -> Decimal | None:
        """The fixed part (lump sum or entry fee), the figure the 20 million soft limit reads."""
        return self.lump_sum_cny if self.lump_sum_cny is not None else self.entry_fee_cny

    def as_json(self) -> dict[str, Any]:
        return {"payment_method": self.payment_method,
                "lump_sum_cny": money_str(self.lump_sum_cny),
                "entry_fee_cny": money_str(self.entry_fee_cny),
                "royalty_rate": rate_str(self.royalty_rate), "royalty_base": self.royalty_base}


@dataclass(frozen=True)
class Declaration:
    declarant_uscc: str
    patentee_type: str | None
    starts_on: date
    ends_on: date
    fee: FeeTerms
    evaluation_report_ref: str | None = None
    co_owner_consents: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool
    detail: str
    clause: dict[str, Any]
    field: str | None = None
    figures: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _check(rules: OpenLicenseRules, code: str, passed: bool, detail: str, field_: str,
           **figures: Any) -> Check:
    figures = {k: v for k, v in figures.items() if v is not None}
    return Check(code, passed, detail, rules.clause(code), None if passed else field_,
                 figures or None)


# --- who declares -------------------------------------------------------------------------------

def allowed_patentee_types(uscc: str, rules: OpenLicenseRules) -> list[str] | None:
    """The patentee types a declarant with this USCC may claim (None: not restricted)."""
    return rules.patentee_types.get(uscc[:2].upper())


def resolve_patentee_type(uscc: str, claimed: str | None, rules: OpenLicenseRules
                          ) -> tuple[str | None, Check]:
    """The patentee type to record and the check of the claim against the USCC's category
    (GB 32100 positions 1-2): a 事业单位 (12…) is a university or institute, an enterprise (91…)
    cannot claim to be a university."""
    allowed = allowed_patentee_types(uscc, rules)
    if claimed is None:
        if allowed and len(allowed) == 1:
            return allowed[0], _check(rules, "patentee_type", True,
                                      f"USCC category {uscc[:2]} → {allowed[0]}", "patentee_type")
        return None, _check(rules, "patentee_type", False,
                            f"state the patentee type; USCC category {uscc[:2]} allows "
                            f"{', '.join(allowed) if allowed else 'any type'}", "patentee_type",
                            allowed=allowed)
    if allowed is not None and claimed not in allowed:
        return claimed, _check(rules, "patentee_type", False,
                               f"a declarant with USCC category {uscc[:2]} cannot declare as "
                               f"{claimed}; allowed: {', '.join(allowed)}", "patentee_type",
                               claimed=claimed, allowed=allowed)
    return claimed, _check(rules, "patentee_type", True,
                           f"{claimed} is consistent with USCC category {uscc[:2]}",
                           "patentee_type")


def missing_consents(owners: list[dict[str, Any]], acting_uscc: str,
                     consents: list[dict[str, Any]]) -> list[str]:
    """The co-owners (other than ``acting_uscc``) without a written consent (one naming a
    document) among ``consents``: by USCC, or by name for an owner without one."""
    acting = acting_uscc.upper()
    others = [o for o in owners if (o.get("uscc") or "").upper() != acting]
    given = [c for c in consents if (c.get("document_ref") or "").strip()]
    by_uscc = {(c.get("uscc") or "").upper() for c in given if c.get("uscc")}
    by_name = {(c.get("name") or "").strip() for c in given}
    return [o.get("uscc") or o["name"] for o in others
            if not ((o.get("uscc") and o["uscc"].upper() in by_uscc)
                    or (not o.get("uscc") and o["name"].strip() in by_name))]


def ownership_checks(patent: PatentSnapshot, decl: Declaration, rules: OpenLicenseRules
                     ) -> list[Check]:
    """The declarant owns the patent and, if co-owned, every other owner consented (§3.1)."""
    owners = patent.owners
    owner_usccs = [(o.get("uscc") or "").upper() for o in owners]
    owns = decl.declarant_uscc.upper() in owner_usccs
    lines = [_check(rules, "owned_by_declarant", owns,
                    f"{decl.declarant_uscc} is {'an' if owns else 'not an'} owner of "
                    f"{patent.application_no} (owners: "
                    f"{', '.join(o.get('uscc') or o['name'] for o in owners)})",
                    "application_no")]
    others = [o for o in owners if (o.get("uscc") or "").upper() != decl.declarant_uscc.upper()]
    if not owns or not others:
        lines.append(_check(rules, "co_owner_consent", owns,
                            "sole owner: no co-owner consent needed" if owns
                            else "not an owner, so no co-owner consent can be relied on",
                            "co_owner_consents"))
        return lines
    missing = missing_consents(owners, decl.declarant_uscc, decl.co_owner_consents)
    lines.append(_check(rules, "co_owner_consent", not missing,
                        f"no written consent (with a document reference) from co-owner(s) "
                        f"{', '.join(missing)}" if missing
                        else f"written consent of all {len(others)} other co-owner(s) recorded",
                        "co_owner_consents", missing=missing or None))
    return lines


# --- the patent's state (Rules 85-86) -----------------------------------------------------------

def patent_checks(patent: PatentSnapshot, rules: OpenLicenseRules, today: date) -> list[Check]:
    """Granted and in force, and none of the Rule 86 bars, one line each."""
    blockers = set(patent.blockers)
    term_over = patent.term_ends_on is not None and today >= patent.term_ends_on
    live = patent.in_force and "not_in_force" not in blockers and not term_over
    exclusive = patent.licences("exclusive") + patent.licences("sole")
    here = sum(int(n or 0) for n in patent.recorded_here.values())
    enc = patent.encumbrances
    unconsented = "pledged_without_consent" in blockers or (
        bool(enc.get("pledged")) and enc.get("pledgee_consent_to_open_licence") is not True)
    fee_paid = patent.annual_fee_status == "paid" and "annual_fee_unpaid" not in blockers
    suspended = patent.suspended or "suspended" in blockers
    return [
        _check(rules, "granted", patent.status == "granted",
               f"status {patent.status}" + ("" if patent.status == "granted"
                                            else ": only a granted patent may be declared"),
               "application_no", status=patent.status),
        _check(rules, "in_force", live,
               "in force" + (f" until {patent.term_ends_on.isoformat()}"
                             if patent.term_ends_on else "") if live
               else (f"the term ended on {patent.term_ends_on.isoformat()}" if term_over
                     else f"not in force (status {patent.status})"),
               "application_no", term_ends_on=patent.term_ends_on.isoformat()
               if patent.term_ends_on else None),
        _check(rules, "exclusive_or_sole_licence",
               not exclusive and "exclusive_or_sole_licence" not in blockers,
               "no exclusive or sole licence in force" if not exclusive
               and "exclusive_or_sole_licence" not in blockers
               else f"an exclusive or sole licence is in force or granted ({exclusive} known"
               + (f", {here} recorded in matching" if here else "") + ")",
               "application_no", recorded_in_matching=here or None),
        _check(rules, "suspended", not suspended,
               "procedures suspended (ownership dispute or preservation order)" if suspended
               else "no suspension recorded", "application_no"),
        _check(rules, "annual_fee_paid", fee_paid,
               f"annual fees: {patent.annual_fee_status or 'unknown'}", "application_no",
               annual_fee_status=patent.annual_fee_status),
        _check(rules, "pledged_without_consent", not unconsented,
               ("pledged without the pledgee's recorded consent to open licensing"
                if unconsented else "pledged, with the pledgee's consent recorded"
                if enc.get("pledged") else "not pledged"), "application_no",
               pledgees=enc.get("pledgees") or None),
    ]


def blocking_reasons(patent: PatentSnapshot, today: date) -> list[str]:
    """Why a published open licence can no longer be taken: the registry's Rule 86 blockers,
    plus not being in force (by the projection, or because the term has run out)."""
    reasons = list(dict.fromkeys(patent.blockers))
    ended = patent.term_ends_on is not None and today >= patent.term_ends_on
    if (not patent.in_force or ended) and "not_in_force" not in reasons:
        reasons.append("not_in_force")
    return reasons


# --- the declaration's own content (Rule 85) ----------------------------------------------------

def fee_problems(fee: FeeTerms) -> list[tuple[str, str]]:
    """(field, message) for each way the fee terms contradict the payment method."""
    problems: list[tuple[str, str]] = []
    method = fee.payment_method

    def need_amount(name: str, value: Decimal | None) -> None:
        if value is None or value <= 0:
            problems.append((name, f"{method} needs {name} greater than 0"))

    def need_rate() -> None:
        if fee.royalty_rate is None or not (0 < fee.royalty_rate <= 1):
            problems.append(("royalty_rate", f"{method} needs royalty_rate in (0, 1]"))
        if fee.royalty_base is None:
            problems.append(("royalty_base", f"{method} needs royalty_base (net_sales | profit)"))

    def none_of(*names: str) -> None:
        for name in names:
            if getattr(fee, name) is not None:
                problems.append((name, f"{method} takes no {name}"))

    if method == "lump_sum":
        need_amount("lump_sum_cny", fee.lump_sum_cny)
        none_of("entry_fee_cny", "royalty_rate", "royalty_base")
    elif method == "royalty":
        need_rate()
        none_of("lump_sum_cny", "entry_fee_cny")
    elif method == "entry_fee_plus_royalty":
        need_amount("entry_fee_cny", fee.entry_fee_cny)
        need_rate()
        none_of("lump_sum_cny")
    elif method == "free":
        none_of("lump_sum_cny", "entry_fee_cny", "royalty_rate", "royalty_base")
    else:
        problems.append(("payment_method", f"one of {', '.join(PAYMENT_METHODS)}"))
    return problems


def content_checks(patent: PatentSnapshot, decl: Declaration, rules: OpenLicenseRules,
                   today: date) -> list[Check]:
    """Evaluation report (Art 50), the term, and fee terms coherent with the method."""
    needs_report = patent.kind in rules.evaluation_report_kinds
    has_report = bool((decl.evaluation_report_ref or "").strip())
    lines = [_check(rules, "evaluation_report", has_report or not needs_report,
                    (f"a {patent.kind} needs a patent evaluation report (专利权评价报告)"
                     + (f": {decl.evaluation_report_ref}" if has_report else "; none given"))
                    if needs_report else f"not required for a {patent.kind}",
                    "evaluation_report_ref")]
    # term_ends_on is the registry's first day NOT in force: the licence's last day must be
    # before it
    term_end = patent.term_ends_on
    within = term_end is not None and decl.ends_on < term_end
    lines.append(_check(rules, "term_within_patent", within,
                        f"licence ends {decl.ends_on.isoformat()}, the patent is in force "
                        f"until the day before {term_end.isoformat()}" if term_end is not None
                        else "the patent's term end is unknown to matching", "ends_on",
                        ends_on=decl.ends_on.isoformat(),
                        term_ends_on=term_end.isoformat() if term_end else None))
    lines.append(_term_order(patent, decl, rules, today))
    problems = fee_problems(decl.fee)
    lines.append(Check("fee_terms", not problems,
                       "; ".join(m for _, m in problems) if problems
                       else f"{decl.fee.payment_method}: terms complete",
                       rules.clause("fee_terms"), problems[0][0] if problems else None,
                       {"problems": [{"field": f, "message": m} for f, m in problems]}
                       if problems else None))
    return lines


def _term_order(patent: PatentSnapshot, decl: Declaration, rules: OpenLicenseRules,
                today: date) -> Check:
    """The term runs forward, has not ended, starts no earlier than the grant and no further
    ahead than the pack allows (a start in year 1 or in 2090 is a typing error, not a term)."""
    latest_start = date.fromordinal(today.toordinal() + rules.max_start_ahead_days)
    problems: list[tuple[str, str]] = []
    if decl.starts_on > decl.ends_on:
        problems.append(("starts_on", "starts_on is after ends_on"))
    if decl.ends_on < today:
        problems.append(("ends_on", f"ends before today ({today.isoformat()})"))
    if patent.grant_date is not None and decl.starts_on < patent.grant_date:
        problems.append(("starts_on", f"starts before the grant "
                                      f"({patent.grant_date.isoformat()})"))
    if decl.starts_on > latest_start:
        problems.append(("starts_on", f"starts more than {rules.max_start_ahead_days} days "
                                      f"ahead (after {latest_start.isoformat()})"))
    return _check(rules, "term_order", not problems,
                  f"{decl.starts_on.isoformat()} to {decl.ends_on.isoformat()}"
                  + "".join(f": {m}" for _, m in problems),
                  problems[0][0] if problems else "ends_on",
                  grant_date=patent.grant_date.isoformat() if problems and patent.grant_date
                  else None,
                  latest_start=latest_start.isoformat() if problems else None)


def declaration_checks(patent: PatentSnapshot, decl: Declaration, pack: OpenLicensePack,
                       today: date) -> tuple[str | None, list[Check]]:
    """Every check of a declaration: (the patentee type to record, the basis lines)."""
    rules = pack.data
    patentee_type, type_line = resolve_patentee_type(decl.declarant_uscc, decl.patentee_type,
                                                     rules)
    lines = [*ownership_checks(patent, decl, rules), type_line,
             *patent_checks(patent, rules, today), *content_checks(patent, decl, rules, today)]
    return patentee_type, lines


def publication_checks(patent: PatentSnapshot, decl: Declaration, pack: OpenLicensePack,
                       today: date) -> list[Check]:
    """At publication, re-run what the facts may have changed (ownership, Rule 85/86, term)."""
    rules = pack.data
    return [*ownership_checks(patent, decl, rules), *patent_checks(patent, rules, today),
            *content_checks(patent, decl, rules, today)]


def unknown_patent(application_no: str, pack: OpenLicensePack) -> Check:
    return Check("patent_unknown", False,
                 f"matching has not received patent {application_no} from the registry "
                 "(register it there first, or retry in a moment)",
                 pack.data.clause("patent_unknown"), "application_no")


# --- fee guidance (RULES §3.2, §3.9, §9) --------------------------------------------------------

def quantile(values: list[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between closest ranks (the common 'type 7' definition)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _short(value: Decimal) -> str:
    return rate_str(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Comparable:
    """One verified priced licence the fee guidance may read: its royalty and who granted it
    (an open declaration counts once, however many took it)."""

    rate: Decimal
    licensor: str


def suggested_range(*, industry: tuple[str, list[Comparable]] | None,
                    ipc: tuple[str, list[Comparable]] | None, royalty_base: str,
                    pack: OpenLicensePack) -> dict[str, Any]:
    """The suggested royalty range: from recorded priced licences of the same industry division,
    else of the same IPC subclass (at least ``min_comparables`` from ``min_licensors`` different
    licensors, so the range never discloses one patentee's terms), else from the pack's CNIPA
    table (empty until loaded), else none, saying why."""
    method = pack.data.fee_range
    tried: list[str] = []
    for scope, found in (("industry_division", industry), ("ipc_subclass", ipc)):
        if found is None:
            tried.append(f"no {scope} to compare on")
            continue
        key, comparables = found
        priced = [c for c in comparables if c.rate > 0]
        rates = [c.rate for c in priced]
        licensors = len({c.licensor for c in priced})
        if len(rates) >= method.min_comparables and licensors >= method.min_licensors:
            return {"available": True, "source": "recorded_licences", "scope": scope,
                    "key": key, "royalty_base": royalty_base, "comparables": len(rates),
                    "licensors": licensors,
                    "low": _short(quantile(rates, method.low_quantile)),
                    "median": _short(quantile(rates, Decimal("0.5"))),
                    "high": _short(quantile(rates, method.high_quantile)),
                    "method": f"quantiles {method.low_quantile}-{method.high_quantile} of "
                              f"royalty rates in verified priced licences (open declarations "
                              f"once each; not the patent itself nor its patentee's)",
                    "clause": method.clause.model_dump(exclude_none=True)}
        tried.append(f"{len(rates)} priced licence(s) from {licensors} licensor(s) with a "
                     f"{royalty_base} royalty in {scope} {key} (needs {method.min_comparables} "
                     f"from at least {method.min_licensors} different licensors)")
    table = pack.data.industry_rates
    if industry is not None:
        division = industry[0]
        for key in (division, _section_of(division)):
            entry = table.rates.get(key) if key else None
            if entry is not None:
                return {"available": True, "source": "pack_table", "scope": "industry",
                        "key": key, "royalty_base": royalty_base, "comparables": None,
                        "low": rate_str(entry.low), "median": None, "high": rate_str(entry.high),
                        "method": f"CNIPA industry royalty statistics {entry.year}",
                        "clause": entry.source.model_dump(exclude_none=True)}
    tried.append("the pack's CNIPA industry table has no entry"
                 + ("" if table.rates else f" (it is empty: {table.note.strip()})"))
    return {"available": False, "source": None, "royalty_base": royalty_base,
            "reason": "no suggestion: " + "; ".join(tried)}


def _section_of(division: str) -> str | None:
    if not division.isdigit():
        return None
    number = int(division)
    return next((s for s, (lo, hi) in INDUSTRY_SECTIONS.items() if lo <= number <= hi), None)


def fee_flags(fee: FeeTerms, suggestion: dict[str, Any], pack: OpenLicensePack
              ) -> list[dict[str, Any]]:
    """Findings to flag (never to refuse): above a CNIPA soft limit, or far outside the range."""
    data = pack.data
    limits, method = data.soft_limits, data.fee_range
    soft = limits.clause.model_dump(exclude_none=True)
    flags: list[dict[str, Any]] = []
    fixed = fee.fixed_fee
    if fixed is not None and fixed > limits.lump_sum_max_cny:
        flags.append({"code": "fixed_fee_above_soft_limit",
                      "detail": f"fixed fee {money_str(fixed)} yuan is above the "
                                f"{money_str(limits.lump_sum_max_cny)} yuan a fixed fee should "
                                "generally not exceed",
                      "figures": {"fixed_fee_cny": money_str(fixed),
                                  "soft_limit_cny": money_str(limits.lump_sum_max_cny)},
                      "clause": soft})
    rate = fee.royalty_rate
    if rate is None:
        return flags
    base = fee.royalty_base or "net_sales"
    cap = limits.royalty_max_rate[base]
    if rate > cap:
        flags.append({"code": "royalty_above_soft_limit",
                      "detail": f"royalty {rate_str(rate)} of {base} is above the "
                                f"{rate_str(cap)} a royalty should generally not exceed",
                      "figures": {"royalty_rate": rate_str(rate), "royalty_base": base,
                                  "soft_limit": rate_str(cap)}, "clause": soft})
    if suggestion.get("available") and suggestion.get("royalty_base", base) == base:
        low, high = Decimal(suggestion["low"]), Decimal(suggestion["high"])
        figures = {"royalty_rate": rate_str(rate), "suggested_low": suggestion["low"],
                   "suggested_high": suggestion["high"], "source": suggestion["source"],
                   "comparables": suggestion.get("comparables")}
        if rate > high * method.flag_above_factor:
            flags.append({"code": "royalty_above_suggested_range",
                          "detail": f"royalty {rate_str(rate)} is more than "
                                    f"{rate_str(method.flag_above_factor)}× the upper end "
                                    f"{suggestion['high']} of the suggested range",
                          "figures": figures | {"factor": rate_str(method.flag_above_factor)},
                          "clause": suggestion["clause"]})
        elif rate < low * method.flag_below_factor:
            flags.append({"code": "royalty_below_suggested_range",
                          "detail": f"royalty {rate_str(rate)} is less than "
                                    f"{rate_str(method.flag_below_factor)}× the lower end "
                                    f"{suggestion['low']} of the suggested range",
                          "figures": figures | {"factor": rate_str(method.flag_below_factor)},
                          "clause": suggestion["clause"]})
    return flags
