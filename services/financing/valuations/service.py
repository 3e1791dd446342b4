"""Valuation rules: value a patent, record a bank's own valuation beside it, read them back.

No FastAPI, no Kafka, no commit. The service loads the patent fact and the comparables, checks
the patent may be valued (GB/T 42748-2023 covers granted, in-force inventions and utility models),
calls the pure methods (:mod:`.methods`) and the indicator rule (:mod:`.indicators`), stores
the result with every assumption and input, emits ``valuation.completed`` and asks the whitelist
to re-evaluate the owners — all in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from calendar import monthrange
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.events import publish
from services.financing.facts.models import PatentFact
from services.financing.valuations import events, indicators, methods, repository
from services.financing.valuations.exceptions import (BankAssessmentExists, InvalidInput,
                                                      NotAValuationReader, PatentNotKnown,
                                                      ValuationNotFound)
from services.financing.valuations.methods import (InputRule, MethodValue, plain, round_cny,
                                                   show)
from services.financing.valuations.models import BankAssessment, LicenseComparable, Valuation
from services.financing.valuations.packs import (FACTOR_NAMES, Approach, Purpose,
                                                 ValuationPack, pack_on, pack_ref)
from services.financing.valuations.schemas import (BankAssessmentCreate, ComparableIn,
                                                   CostObsolescenceInputs, Factors,
                                                   ProfitSplitInputs, RoyaltyReliefInputs,
                                                   ValuationCreate)
from services.financing.whitelist import service as whitelist
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.errors import Forbidden
from shared.identifiers import InvalidIdentifier, validate_application_no
from shared.pagination import decode_cursor, encode_cursor

log = structlog.get_logger("financing.valuations")

#: Kinds that count as "the same kind" when preferring comparables.
SAME_KIND = {"invention": ("invention", "pct_invention"),
             "utility_model": ("utility_model", "pct_utility_model")}
_SUBCLASS = re.compile(r"^[A-H][0-9]{2}[A-Z]")
APPROACH_ORDER = (Approach.income, Approach.market, Approach.cost)


# --- small pure helpers -------------------------------------------------------------------------

def base_kind(kind: str | None) -> str | None:
    return {"pct_invention": "invention", "pct_utility_model": "utility_model"}.get(kind or "",
                                                                                  kind)


def ipc_subclass(codes: list[str] | None) -> str | None:
    """Subclass (first 4 characters, e.g. H01M) of the first (main) IPC code."""
    if not codes:
        return None
    text = "".join(str(codes[0]).upper().split())
    return text[:4] if _SUBCLASS.match(text) else None


def add_months_minus_one_day(start: date, months: int) -> date:
    """Last day of a period of ``months`` months from ``start`` (month-end days clamp)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return date(year, month, min(start.day, monthrange(year, month)[1])) - timedelta(days=1)


def canonical_decimals(value: Any) -> Any:
    """The request with every Decimal normalised (0.030 → 0.03, 1E+3 → 1000): numerically equal
    inputs give byte-equal results and hashes."""
    if isinstance(value, Decimal):
        with localcontext(prec=methods.PRECISION):
            return Decimal(format(value.normalize(), "f"))
    if isinstance(value, dict):
        return {k: canonical_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical_decimals(v) for v in value]
    return value


def _json(value: Any) -> Any:
    """JSON-safe copy (Decimals as plain strings, dates ISO)."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def inputs_hash(material: dict[str, Any]) -> str:
    text = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _rule_error(prefix: str, exc: InputRule) -> InvalidInput:
    name = f"{prefix}.{exc.field}" if prefix else exc.field
    return InvalidInput(name, exc.rule, exc.message, message_zh=exc.message_zh)


# --- the patent may be valued -------------------------------------------------------------------

def _canonical_number(raw: str, field: str) -> str:
    try:
        return validate_application_no(raw, today=today_cn()).canonical
    except InvalidIdentifier as exc:
        raise InvalidInput(field, exc.rule, exc.message,
                           message_zh=exc.message_zh or None) from exc


async def fact_or_404(session: AsyncSession, raw: str, field: str) -> PatentFact:
    number = _canonical_number(raw, field)
    fact = await repository.patent_fact(session, number)
    if fact is None:
        raise PatentNotKnown(
            f"financing has no record of patent {number}: it is not registered, or the "
            "registry's event has not arrived yet; retry shortly",
            detail_zh="融资服务尚未收到该专利的登记信息", application_no=number,
            errors=[{"field": field, "rule": "patent.known",
                     "message": "unknown to financing (registry facts arrive as events)"}])
    return fact


def check_valuable(fact: PatentFact, pack: ValuationPack, on: date) -> list[dict[str, Any]]:
    """422 naming the rule when the patent cannot be valued on ``on``; else the checks passed."""
    field = "application_no"
    scope = pack.data.scope
    cite = scope.source.cite(pack_ref(pack))
    if fact.kind not in scope.kinds:
        raise InvalidInput(field, "patent.kind_not_covered",
                           f"{fact.application_no} is a {fact.kind}; GB/T 42748-2023 covers "
                           f"{', '.join(scope.kinds)} (not designs)",
                           message_zh="专利评估指引（GB/T 42748-2023）适用于发明和实用新型专利，不适用于外观设计",
                           kind=fact.kind, clause=cite)
    if fact.status == "pending" or fact.grant_date is None or fact.grant_date > on:
        raise InvalidInput(field, "patent.not_granted",
                           f"{fact.application_no} is not granted on {on.isoformat()} (status "
                           f"{fact.status}); only granted patents are valued",
                           message_zh="该专利在评估基准日尚未授权", status=fact.status)
    ended = fact.term_ends_on is not None and on >= fact.term_ends_on
    if (fact.status != "granted" or not fact.in_force or ended
            or fact.annual_fee_status == "unpaid_past_grace"):
        raise InvalidInput(field, "patent.not_in_force",
                           f"{fact.application_no} is not in force on {on.isoformat()} (status "
                           f"{fact.status}, annual fees {fact.annual_fee_status}, term ends "
                           f"{fact.term_ends_on})", message_zh="该专利权在评估基准日不处于有效状态",
                           status=fact.status,
                           term_ends_on=fact.term_ends_on.isoformat() if fact.term_ends_on
                           else None)
    return [{"rule": "patent.kind_covered", "passed": True, "figures": {"kind": fact.kind},
             "clause": cite},
            {"rule": "patent.granted", "passed": True,
             "figures": {"grant_date": fact.grant_date.isoformat()}},
            {"rule": "patent.in_force", "passed": True,
             "figures": {"annual_fee_status": fact.annual_fee_status,
                         "term_ends_on": fact.term_ends_on.isoformat() if fact.term_ends_on
                         else None}}]


def facts_view(fact: PatentFact) -> dict[str, Any]:
    """The patent facts a valuation reads (hashed; the projection's revision is not)."""
    return _json({
        "application_no": fact.application_no, "kind": fact.kind, "title": fact.title,
        "ipc_codes": list(fact.ipc_codes or []),
        "owners": [{"uscc": o.get("uscc"), "name": o.get("name"), "share": o.get("share")}
                   for o in fact.owners or []],
        "filing_date": fact.filing_date, "grant_date": fact.grant_date, "status": fact.status,
        "in_force": fact.in_force, "term_ends_on": fact.term_ends_on,
        "annual_fee_status": fact.annual_fee_status, "suspended": bool(fact.suspended),
        "family_granted_abroad": fact.family_granted_abroad or 0,
        "high_value_categories": list(fact.high_value_categories or []),
        "encumbrances": dict(fact.encumbrances or {}),
    })


def owner_usccs(fact: PatentFact) -> list[str]:
    return [o["uscc"] for o in fact.owners or [] if o.get("uscc")]


# --- methods --------------------------------------------------------------------------------------

def _income(data, cap: Decimal | None) -> MethodValue:
    try:
        if isinstance(data, RoyaltyReliefInputs):
            return methods.relief_from_royalty(data.sales_cny, data.royalty_rate,
                                               data.tax_rate, data.discount_rate, cap)
        assert isinstance(data, ProfitSplitInputs)
        return methods.profit_split(data.profits_cny, data.profit_split, data.discount_rate,
                                    cap)
    except InputRule as exc:
        raise _rule_error("income", exc) from exc
    except ArithmeticError as exc:  # e.g. a discount rate near -1 over many years
        raise _rule_error("income", InputRule(
            "discount_rate", "value.out_of_range",
            f"the projection does not give a finite value a register can hold ({exc!r})",
            "评估结果超出可记录范围")) from exc


def _cost(data, cap: Decimal | None, statutory: Decimal | None) -> MethodValue:
    try:
        if isinstance(data, CostObsolescenceInputs):
            return methods.cost_obsolescence(data.replacement_cost_cny, data.obsolescence_rate)
        remaining = data.remaining_life_years if data.remaining_life_years is not None else cap
        total = data.total_life_years if data.total_life_years is not None else statutory
        if remaining is None or total is None:
            raise InputRule("remaining_life_years", "life.required_without_term",
                            "the patent's term end is unknown: send remaining_life_years and "
                            "total_life_years", "专利期限未知，请提供剩余寿命和总寿命")
        value = methods.cost_remaining_life(data.replacement_cost_cny, remaining, total, cap)
        value.figures["remaining_life_source"] = ("request" if data.remaining_life_years
                                                  is not None else "remaining_legal_term")
        value.figures["total_life_source"] = ("request" if data.total_life_years is not None
                                              else "statutory_term")
        return value
    except InputRule as exc:
        raise _rule_error("cost", exc) from exc


def _factors(given: Factors | None, pack: ValuationPack) -> tuple[dict[str, Decimal],
                                                                  dict[str, str]]:
    values, sources = {}, {}
    for name in FACTOR_NAMES:
        value = getattr(given, name) if given is not None else None
        values[name] = value if value is not None else pack.data.market.default_factors[name]
        sources[name] = "request" if value is not None else "pack_default"
    return values, sources


def _recorded_reference(row: LicenseComparable, subject_kind: str | None) -> dict[str, Any]:
    return {"source": "license.granted", "license_id": row.license_id,
            "application_no": row.application_no, "patent_kind": row.patent_kind,
            "same_kind": base_kind(row.patent_kind) == subject_kind,
            "ipc_subclass": row.ipc_subclass, "license_type": row.license_type,
            "granted_on": row.granted_on.isoformat()}


async def _market(session: AsyncSession, data, fact: PatentFact, pack: ValuationPack,
                  on: date) -> tuple[MethodValue | None, list[str], dict[str, Any]]:
    """The market value (None when no comparable exists), notes, and the selection basis."""
    rules = pack.data.market
    comps: list[methods.Comparable] = []
    explicit: list[ComparableIn] = data.comparables
    for item in explicit:
        values, sources = _factors(item.factors, pack)
        ref = {"source": "request", "reference": item.reference,
               "license_type": item.license_type,
               "granted_on": item.granted_on.isoformat() if item.granted_on else None,
               "factor_sources": sources}
        comps.append(methods.Comparable(ref, item.price_cny, values))
    subclass = ipc_subclass(fact.ipc_codes)
    subject_kind = base_kind(fact.kind)
    since = methods.add_years(on, -rules.lookback_years)
    selection: dict[str, Any] = {
        "use_recorded": data.use_recorded, "ipc_subclass": subclass,
        "same_kind_first": subject_kind, "granted_after": since.isoformat(),
        "granted_on_or_before": on.isoformat(), "max_comparables": rules.max_comparables,
        "priced": "lump-sum licences without a running royalty; free (¥0) licences are never "
                  "recorded (RULES.md §9)"}
    notes = []
    if data.use_recorded and subclass is not None:
        rows = await repository.comparables_for(
            session, ipc_subclass=subclass, kinds=SAME_KIND.get(subject_kind or "", ()),
            since=since, until=on, limit=rules.max_comparables)
        unpriced = await repository.unpriced_count(session, ipc_subclass=subclass, since=since,
                                                   until=on)
        values, sources = _factors(data.factors, pack)
        for row in rows:
            ref = _recorded_reference(row, subject_kind) | {"factor_sources": sources}
            comps.append(methods.Comparable(ref, Decimal(row.lump_sum_cny), values))
        selection |= {"recorded_found": len(rows), "recorded_unpriced": unpriced}
        if unpriced:
            notes.append(f"{unpriced} recorded licence(s) in IPC subclass {subclass} carry a "
                         "running royalty and have no lump-sum price; not used as comparables")
    elif data.use_recorded:
        notes.append("the patent has no IPC code: no recorded comparable can be chosen")
    if not comps:
        return None, notes, selection
    try:
        value = methods.market(
            comps, aggregate=rules.aggregate, factor_min=rules.factor_min,
            factor_max=rules.factor_max,
            field_of=lambda i: (f"comparables.{i}" if i < len(explicit) else "factors"))
    except InputRule as exc:
        if exc.field.startswith("factors."):  # recorded ones take market.factors
            exc.field = "factors." + exc.field.rsplit(".", 1)[-1]
        raise _rule_error("market", exc) from exc
    return value, notes, selection


# --- the valuation --------------------------------------------------------------------------------

async def create(session: AsyncSession, data: ValuationCreate, caller: Principal, *,
                 today: date | None = None) -> Valuation:
    """Value a patent; emits ``valuation.completed`` and re-evaluates the owners' whitelist
    entries in the same transaction."""
    today = today or today_cn()
    on = data.valuation_date or today
    if on > today:
        raise InvalidInput("valuation_date", "valuation_date.not_in_future",
                           f"valuation_date {on.isoformat()} is after today ({today.isoformat()})",
                           message_zh="评估基准日不能晚于今天")
    data = ValuationCreate.model_validate(canonical_decimals(data.model_dump()))
    fact = await fact_or_404(session, data.application_no, "application_no")
    pack = pack_on(on)
    ref = pack_ref(pack)
    checks = check_valuable(fact, pack, on)
    if data.income is None and data.cost is None and data.market is None:
        raise InvalidInput("income", "inputs.at_least_one_method",
                           "send the inputs of at least one method: income, cost or market",
                           message_zh="请至少提供收益法、成本法或市场法之一的参数")

    cap = methods.years_between(on, fact.term_ends_on) if fact.term_ends_on else None
    statutory = (methods.years_between(fact.filing_date, fact.term_ends_on)
                 if fact.term_ends_on else None)
    results: dict[Approach, MethodValue] = {}
    notes: list[str] = []
    warnings: list[str] = []
    selection: dict[str, Any] | None = None
    if data.income is not None:
        results[Approach.income] = _income(data.income, cap)
    if data.cost is not None:
        results[Approach.cost] = _cost(data.cost, cap, statutory)
    if data.market is not None:
        value, market_notes, selection = await _market(session, data.market, fact, pack, on)
        notes += market_notes
        if value is not None:
            results[Approach.market] = value
        elif results:
            warnings.append("market approach not applied: no comparable licence was found or "
                            "sent")
        else:
            raise InvalidInput("market.comparables", "market.no_comparables",
                               f"no comparable licence in IPC subclass "
                               f"{ipc_subclass(fact.ipc_codes)} (recorded from license.granted) "
                               "and none sent; send comparables or another method's inputs",
                               message_zh="没有可比许可交易，请提供可比交易或其他评估方法的参数")

    limits = pack.data.soft_limits
    if isinstance(data.income, RoyaltyReliefInputs) and \
            data.income.royalty_rate > limits.royalty_rate_max:
        warnings.append(f"royalty_rate {plain(data.income.royalty_rate)} is above the "
                        f"{plain(limits.royalty_rate_max)} of net sales CNIPA generally expects "
                        f"({limits.source.document}, confidence {limits.source.confidence})")
    if isinstance(data.income, ProfitSplitInputs) and \
            data.income.profit_split > limits.profit_split_max:
        warnings.append(f"profit_split {plain(data.income.profit_split)} is above the "
                        f"{plain(limits.profit_split_max)} of profit CNIPA generally expects "
                        f"({limits.source.document}, confidence {limits.source.confidence})")

    for approach, result in results.items():
        if result.value > methods.MAX_AMOUNT:
            raise InvalidInput(
                approach.value, "value.max",
                f"the {approach.value} approach gives {plain(round_cny(result.value))} yuan, "
                f"above the {plain(methods.MAX_AMOUNT)} a valuation may state; check the inputs",
                message_zh="评估结果超过上限，请检查参数")
    purpose = Purpose(data.purpose)
    weights = pack.data.method_weights.by_purpose[purpose]
    combined = methods.combine({a.value: results[a].value for a in APPROACH_ORDER
                                if a in results},
                               {a.value: w for a, w in weights.items()},
                               pack.data.spread.single_method)
    value, low, high = (round_cny(combined.value), round_cny(combined.low),
                        round_cny(combined.high))

    try:
        given = indicators.check_inputs(
            pack.data.indicators,
            data.indicators.model_dump() if data.indicators is not None else {})
    except InputRule as exc:
        raise _rule_error("indicators", exc) from exc
    legal = indicators.legal_scores(pack.data.indicators.legal_scoring, indicators.LegalFacts(
        remaining_years=cap, statutory_years=statutory,
        annual_fee_status=fact.annual_fee_status,
        family_granted_abroad=fact.family_granted_abroad or 0,
        encumbrances=fact.encumbrances or {}, suspended=bool(fact.suspended),
        high_value_categories=tuple(fact.high_value_categories or ())))
    scored = indicators.score(pack.data.indicators, purpose, legal, given, ref)
    if scored["not_scored"]:
        warnings.append("indicators not scored (left out, sibling weights renormalised): "
                        + ", ".join(scored["not_scored"]))
    if fact.annual_fee_status == "in_grace":
        warnings.append("the annual fee is overdue (in the grace period): the patent lapses "
                        "if it is not paid")
    if not pack.verified:
        warnings.append(f"policy pack {ref} is verified: false — weights, spreads and indicator "
                        "names are placeholders until GB/T 42748-2023's text is checked")

    method_lines = []
    for approach in APPROACH_ORDER:
        if approach not in results:
            continue
        r = results[approach]
        method_lines.append({
            "approach": approach.value, "method": r.method, "value_cny": show(r.value),
            "pack_weight": plain(weights[approach]),
            "weight": show(combined.weights[approach.value], 6), "formula": r.formula,
            "figures": r.figures, "lines": [] if approach is Approach.market else r.lines,
            "notes": r.notes})
    comparables = results[Approach.market].lines if Approach.market in results else []
    combination = {
        "rule": "value = Σ weight × method value / Σ weights, over the methods used (pack "
                "weights for the purpose, renormalised)",
        "purpose": purpose.value, "weights": {k: show(v, 6) for k, v in combined.weights.items()},
        "value_unrounded": plain(combined.value), "range_rule": combined.range_rule,
        "spread": plain(pack.data.spread.single_method) if len(results) == 1 else None,
        "sources": [pack.data.method_weights.source.cite(ref),
                    pack.data.spread.source.cite(ref)],
    }
    facts = facts_view(fact)
    inputs = _json(data.model_dump(exclude={"application_no", "valuation_date"}))
    assumptions = _assumptions(fact, pack, purpose, on, cap, statutory, results, combined,
                               notes, selection)
    material = {"facts": facts, "valuation_date": on.isoformat(), "inputs": inputs,
                "comparables": comparables, "pack": ref}
    digest = inputs_hash(material)
    valid_until = add_months_minus_one_day(on, pack.data.validity.months)
    result = {
        "methods": method_lines, "combination": combination, "indicators": scored,
        "comparables": comparables, "market_selection": selection, "assumptions": assumptions,
        "warnings": warnings, "inputs": inputs, "facts": facts, "checks": checks,
        "pack": {"id": pack.id, "version": pack.version, "ref": ref,
                 "effective_from": pack.effective_from.isoformat(), "verified": pack.verified,
                 "sources": pack.cite(),
                 "validity": pack.data.validity.source.cite(ref)},
    }
    now = utcnow()
    valuation = Valuation(
        id=str(uuid.uuid4()), application_no=fact.application_no, patent_kind=fact.kind,
        owner_usccs=owner_usccs(fact), purpose=purpose.value, valuation_date=on,
        value_cny=value, low_cny=low, high_cny=high,
        method="+".join(results[a].method for a in APPROACH_ORDER if a in results),
        valid_until=valid_until, pack=ref, inputs_hash=digest, result=result,
        requested_by=caller.subject, requester_department=caller.department,
        requester_org=caller.org, revision=1, created_at=now)
    repository.add(session, valuation)
    await session.flush()
    await publish(session, "valuation.completed", key=events.event_key(valuation),
                  subject=valuation.application_no, data=events.completed(valuation, now))
    if valuation.owner_usccs:
        await whitelist.reevaluate(session, valuation.owner_usccs, cause="valuation.completed")
    log.info("financing.valuation.completed", valuation_id=valuation.id,
             application_no=valuation.application_no, value_cny=str(value),
             method=valuation.method, inputs_hash=digest)
    return valuation


def _assumptions(fact: PatentFact, pack: ValuationPack, purpose: Purpose, on: date,
                 cap: Decimal | None, statutory: Decimal | None,
                 results: dict[Approach, MethodValue], combined: methods.Combined,
                 notes: list[str], selection: dict[str, Any] | None) -> list[dict[str, str]]:
    out = [
        {"key": "currency", "text": "Amounts are CNY yuan (元)."},
        {"key": "rounding", "text": methods.ROUNDING_CONVENTION},
        {"key": "standard", "text": (
            "GB/T 42748-2023 approach (scope, scenarios, three first-level indicators: [S]); "
            "the monetary formulas are general Chinese appraisal practice, not verified as the "
            "standard's text [U] (RULES.md §4.2).")},
        {"key": "facts", "text": (
            "Patent facts as financing projected them from the registry's events (revision "
            f"{fact.revision}); they are listed under facts.")},
    ]
    if cap is not None:
        out.append({"key": "legal_term", "text": (
            f"Remaining legal term {show(cap, 4)} years from the valuation date "
            f"{on.isoformat()} to the term's end {fact.term_ends_on.isoformat()} (statutory "
            f"term {show(statutory, 4)} years from the filing date "
            f"{fact.filing_date.isoformat()}); the economic life used never exceeds it.")})
    else:
        out.append({"key": "legal_term", "text": "The term's end is unknown to financing: "
                                                 "projections are not capped."})
    if Approach.income in results:
        out.append({"key": "timing", "text": methods.TIMING_CONVENTION})
        income = results[Approach.income]
        out.append({"key": "economic_life", "text": income.notes[0] if income.notes else (
            f"The {income.figures['years_projected']}-year projection lies within the remaining "
            "legal term; every year counted in full.")})
    if Approach.cost in results:
        for note in results[Approach.cost].notes:
            out.append({"key": "cost_life", "text": note})
    if selection is not None:
        out.append({"key": "market_selection", "text": (
            "Recorded comparables: licences from matching's license.granted events in IPC "
            f"subclass {selection['ipc_subclass']} (first 4 characters of the main IPC code), "
            f"same kind ({selection['same_kind_first']}) first then newest, granted after "
            f"{selection['granted_after']} and on or before {selection['granted_on_or_before']}, "
            f"at most {selection['max_comparables']}; priced ones only: "
            f"{selection['priced']}. Adjustment factors not sent are the pack's defaults (1 = no "
            "adjustment).")})
    for note in notes:
        out.append({"key": "market", "text": note})
    names = ", ".join(f"{k} {show(v, 6)}" for k, v in combined.weights.items())
    out.append({"key": "combination", "text": (
        f"Methods combined by weighted mean with the pack's weights for {purpose.value}, "
        f"renormalised over the methods used: {names}. {combined.range_rule}.")})
    out.append({"key": "indicators", "text": (
        "Value indicators are scored beside the value and do not change it; the second- and "
        "third-level indicator names are placeholders (GB/T 42748-2023 text not read, "
        "confidence U).")})
    out.append({"key": "validity", "text": (
        f"Usable for {pack.data.validity.months} months from the valuation date "
        f"({pack.data.validity.source.document}, confidence "
        f"{pack.data.validity.source.confidence}).")})
    return out


# --- reading --------------------------------------------------------------------------------------

def ensure_can_read(caller: Principal, owners: list[str]) -> None:
    """Departments with whitelist:read or valuations:write; an owner enterprise itself."""
    if caller.has("whitelist:read") or caller.has("valuations:write"):
        return
    if caller.department == "enterprise" and caller.org and caller.org.upper() in owners:
        return
    raise NotAValuationReader(
        "valuations are read by departments with whitelist:read or valuations:write, and by "
        "the patent's owner enterprises", detail_zh="只有具备白名单查看或评估权限的部门以及专利权人企业可以查看估值")


async def get_or_404(session: AsyncSession, valuation_id: str) -> Valuation:
    valuation = await repository.get(session, valuation_id)
    if valuation is None:
        raise ValuationNotFound(f"no valuation {valuation_id}", detail_zh="未找到该估值记录")
    return valuation


def _assessment_view(a: BankAssessment) -> dict[str, Any]:
    return {"id": a.id, "valuation_id": a.valuation_id, "bank_code": a.bank_code,
            "value_cny": format(round_cny(Decimal(a.value_cny)), "f"), "method": a.method,
            "valued_on": a.valued_on, "notes": a.notes, "recorded_by": a.recorded_by,
            "created_at": a.created_at}


def read_model(valuation: Valuation, assessments: list[BankAssessment]) -> dict[str, Any]:
    """The API view of a valuation (router and idempotency store)."""
    r = valuation.result
    money = lambda v: format(round_cny(Decimal(v)), "f")  # noqa: E731
    return {
        "id": valuation.id, "application_no": valuation.application_no,
        "patent_kind": valuation.patent_kind, "owner_usccs": list(valuation.owner_usccs),
        "purpose": valuation.purpose, "valuation_date": valuation.valuation_date,
        "value_cny": money(valuation.value_cny), "low_cny": money(valuation.low_cny),
        "high_cny": money(valuation.high_cny), "method": valuation.method,
        "valid_until": valuation.valid_until, "methods": r["methods"],
        "combination": r["combination"], "indicators": r["indicators"],
        "comparables": r["comparables"], "assumptions": r["assumptions"],
        "warnings": r["warnings"], "inputs": r["inputs"], "facts": r["facts"],
        "pack": r["pack"], "basis": {"rules": r["checks"], "pack": valuation.pack},
        "inputs_hash": valuation.inputs_hash,
        "bank_assessments": [_assessment_view(a) for a in assessments],
        "requested_by": valuation.requested_by,
        "requester_department": valuation.requester_department,
        "created_at": valuation.created_at, "revision": valuation.revision,
    }


def visible(assessments: list[BankAssessment], caller: Principal) -> list[BankAssessment]:
    """A bank's internal valuation is its own business: another bank does not see it (the
    regulators, the IP office and the owner enterprise see them all)."""
    if caller.department != "bank":
        return assessments
    return [a for a in assessments if a.bank_code == (caller.org or "")]


async def view(session: AsyncSession, valuation: Valuation, caller: Principal
               ) -> dict[str, Any]:
    found = await repository.assessments_for(session, [valuation.id])
    return read_model(valuation, visible(found[valuation.id], caller))


def _cursor_key(v: Valuation) -> str:
    return f"{v.valuation_date.isoformat()}|{v.created_at.isoformat()}|{v.id}"


def _parse_cursor(cursor: str | None) -> tuple[date, datetime, str] | None:
    raw = decode_cursor(cursor)
    if raw is None:
        return None
    try:
        day, created, ident = raw.split("|")
        return date.fromisoformat(day), datetime.fromisoformat(created), ident
    except ValueError as exc:
        raise InvalidInput("query.cursor", "cursor.invalid",
                           "not a cursor returned by this API (use next_cursor as given)",
                           message_zh="无效的分页游标") from exc


async def list_for_patent(session: AsyncSession, raw_number: str, caller: Principal, *,
                          cursor: str | None, limit: int) -> tuple[list[dict[str, Any]],
                                                                   str | None]:
    """A patent's valuations, newest first (valuation date, then recorded time)."""
    fact = await fact_or_404(session, raw_number, "path.application_no")
    ensure_can_read(caller, owner_usccs(fact))
    rows = await repository.list_for_patent(session, fact.application_no,
                                            after=_parse_cursor(cursor), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    found = await repository.assessments_for(session, [v.id for v in rows])
    items = [read_model(v, visible(found[v.id], caller)) for v in rows]
    return items, (encode_cursor(_cursor_key(rows[-1])) if more and rows else None)


# --- banks' own valuations ------------------------------------------------------------------------

async def record_bank_assessment(session: AsyncSession, valuation: Valuation,
                                 data: BankAssessmentCreate, caller: Principal, *,
                                 today: date | None = None) -> BankAssessment:
    """A bank records its internal valuation beside ours; one per bank per valuation (409 for a
    second: make a new valuation). Emits ``valuation.completed`` with kind bank_internal."""
    today = today or today_cn()
    if not caller.org:
        raise Forbidden("a bank's token must carry its bank code (org)",
                        detail_zh="银行令牌缺少银行代码（org）")
    bank_code = caller.org
    try:
        value = methods.check_amount("value_cny", data.value_cny)
    except InputRule as exc:
        raise _rule_error("", exc) from exc
    if value != round_cny(value):
        raise InvalidInput("value_cny", "amount.cents", "at most two decimals (fen)",
                           message_zh="金额最多保留两位小数")
    if data.valued_on > today:
        raise InvalidInput("valued_on", "valued_on.not_in_future",
                           f"valued_on {data.valued_on.isoformat()} is after today "
                           f"({today.isoformat()})", message_zh="评估日期不能晚于今天")
    existing = await repository.assessment_of(session, valuation.id, bank_code)
    if existing is not None:
        raise BankAssessmentExists(
            f"bank {bank_code} already recorded its valuation beside valuation {valuation.id}; "
            "request a new valuation to record another", detail_zh="该银行已对此估值记录内部评估，请发起新的估值",
            assessment_id=existing.id)
    now = utcnow()
    assessment = BankAssessment(
        id=str(uuid.uuid4()), valuation_id=valuation.id, bank_code=bank_code, value_cny=value,
        method=data.method, valued_on=data.valued_on, notes=data.notes,
        recorded_by=caller.subject, created_at=now)
    repository.add(session, assessment)
    await session.flush()  # the unique (valuation, bank) index settles a concurrent second
    await repository.bump_revision(session, valuation.id)
    await session.refresh(valuation, ["revision"])
    await publish(session, "valuation.completed", key=events.event_key(valuation),
                  subject=valuation.application_no, bank_code=bank_code,
                  data=events.bank_internal(valuation, assessment, now))
    log.info("financing.valuation.bank_assessment", valuation_id=valuation.id,
             bank_code=bank_code, value_cny=str(value))
    return assessment


def assessment_view(a: BankAssessment) -> dict[str, Any]:
    return _assessment_view(a)


async def assessment_or_404(session: AsyncSession, valuation: Valuation, assessment_id: str
                            ) -> BankAssessment:
    found = await repository.assessments_for(session, [valuation.id])
    for a in found[valuation.id]:
        if a.id == assessment_id:
            return a
    raise ValuationNotFound(f"no bank assessment {assessment_id} on valuation {valuation.id}",
                            detail_zh="未找到该银行内部评估记录")
