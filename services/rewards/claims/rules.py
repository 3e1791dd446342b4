"""Reward decisions as plain functions of data: trigger, eligibility, amount, doubt flags, caps.

Nothing here touches the database. The service gathers the facts (rewards's projections of the
registry and the trigger event), calls :func:`evaluate`, reserves the cap room the evaluation
asks for (:class:`CapRequest`, in key order, under row locks) and records the whole basis: every
check with pass/fail, the figures and the clause, so an officer can answer "why?" from the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from services.rewards.policies.packs import (TRIGGERS, Condition, RewardPack, RewardRule,
                                             covers)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#: Doubt flags: any one sends a claim to a person instead of approval without a meeting.
DOUBT_FLAGS = {
    "credit.active_flag": ("申请人存在有效信用标记", "the claimant has an active credit flag"),
    "evidence.unverified": ("材料所述事项尚未由登记部门发布", "the item is not yet announced by "
                                                        "the registry"),
    "evidence.mismatch": ("材料与登记信息不符", "the evidence does not match the registry's facts"),
    "amount.unusual": ("金额超出常规", "the amount is above the rule's usual range"),
    "amount.assessed": ("政策未规定金额，须由主管部门核定", "the policy names no amount; the "
                                                       "department sets it"),
    "amount.requested": ("金额为“不超过”上限，须逐项核定", "an up-to amount is decided per case"),
    "claimant.new_organisation": ("新设立组织首次申请", "first claim of a newly founded "
                                                     "organisation"),
    "policy.unverified": ("规则数额未经核实", "a figure of the rule is not confirmed in the text"),
    "rule.review_required": ("该事项须人工审核", "the rule always goes to a person"),
}


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (``licensee.uscc``, ``owners.0.uscc``); None when absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


@dataclass(frozen=True)
class Facts:
    """What one decision reads. ``enterprise`` is None when rewards has not projected the
    claimant yet; then the claim waits (``awaiting_facts``) rather than failing."""

    enterprise: dict[str, Any] | None
    item: dict[str, Any]
    item_known: bool = True
    item_party: str | None = None
    qualifications: tuple[str, ...] = ()
    pool_member: bool = False
    active_flags: tuple[dict[str, Any], ...] = ()
    prior_decided_claims: int = 0
    today: date = field(default_factory=date.today)

    def value(self, fact: str) -> Any:
        root, _, path = fact.partition(".")
        if root == "item":
            return lookup(self.item, path)
        if path == "qualifications":
            return list(self.qualifications)
        if path == "pool_member":
            return self.pool_member
        return lookup(self.enterprise or {}, path)


def _cite(pack: RewardPack, rule: RewardRule, condition: Condition | None = None
          ) -> dict[str, Any]:
    """Document and clause of a basis line. The clause's words are quoted once, in the claim's
    ``clause`` (and in ``GET /v1/policies``), not on every line: a claim's basis stays small."""
    source = (condition.source if condition is not None and condition.source else rule.source)
    return {"pack": pack.ref, "document": source.document, "clause": source.clause}


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "present":
        return actual not in (None, "", [])
    if actual is None:
        return False
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "prefix":
        return str(actual).startswith(expected)
    if op == "contains":
        wanted = expected if isinstance(expected, list) else [expected]
        return any(w in actual for w in wanted) if isinstance(actual, (list, tuple)) else False
    if op in ("gte", "lte"):
        try:
            a, e = (Decimal(str(actual)), Decimal(str(expected)))
        except InvalidOperation:
            a, e = str(actual), str(expected)  # ISO dates compare as strings
        return a >= e if op == "gte" else a <= e
    raise ValueError(f"unknown op {op}")


def check(condition: Condition, facts: Facts, pack: RewardPack, rule: RewardRule
          ) -> dict[str, Any]:
    actual = facts.value(condition.fact)
    passed = _compare(condition.op, actual, condition.value)
    return line(condition.code, passed,
                {"fact": condition.fact, "op": condition.op, "expected": condition.value,
                 "actual": actual},
                _cite(pack, rule, condition), condition.label_en, condition.label_zh)


def line(rule: str, passed: bool, figures: dict[str, Any], clause: dict[str, Any] | None,
         detail: str, detail_zh: str) -> dict[str, Any]:
    """One basis line, the shape every decision of the service stores and returns."""
    return {"rule": rule, "passed": passed, "figures": _jsonable(figures), "clause": clause,
            "detail": detail, "detail_zh": detail_zh}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def trigger_matches(rule: RewardRule, item: dict[str, Any]) -> bool:
    """Whether an event's payload is a trigger of ``rule`` at all (``trigger.when``)."""
    probe = Facts(enterprise=None, item=item)
    return all(_compare(c.op, probe.value(c.fact), c.value) for c in rule.trigger.when)


def extract(event_type: str, data: dict[str, Any]) -> tuple[str | None, str | None, date | None,
                                                             str]:
    """(claimant USCC, item ref, item date, item kind) of a trigger event."""
    paths = TRIGGERS[event_type]
    party = lookup(data, paths["party"])
    ref = lookup(data, paths["item"])
    raw = lookup(data, paths["date"])
    if raw is None and event_type == "patent.status_changed":
        raw = data.get("changed_on")
    if raw is None and event_type == "trademark.registered":
        raw = (data.get("registered_at") or "")[:10] or None
    when = date.fromisoformat(str(raw)[:10]) if raw else None
    return party, (str(ref) if ref is not None else None), when, paths["kind"]


@dataclass(frozen=True)
class CapRequest:
    """Room a claim needs in one tally: ``key`` orders the locks; ``cap_cny``/``max_items``
    are the limits (None: unlimited)."""

    key: str
    code: str
    cap_cny: Decimal | None
    max_items: int | None
    clause: dict[str, Any]
    label_en: str
    label_zh: str


@dataclass
class Evaluation:
    status: str  # awaiting_facts | rejected | pending_review | approved
    basis: list[dict[str, Any]]
    amount_cny: Decimal | None  # after the per-item cap, before organisation caps
    doubt_flags: list[str]
    cap_requests: list[CapRequest]
    review_due_on: date | None


def tally_key(pack: RewardPack, rule: RewardRule, uscc: str, period: str) -> str:
    return f"{pack.id}|{rule.code}|{uscc}|{period}"


def cap_requests(pack: RewardPack, rule: RewardRule, uscc: str, item_date: date
                 ) -> list[CapRequest]:
    caps, cite = rule.caps, _cite(pack, rule)
    requests: list[CapRequest] = []
    if caps.per_org_cny is not None or caps.once_per_org:
        requests.append(CapRequest(
            tally_key(pack, rule, uscc, "all"), "cap.per_org", caps.per_org_cny,
            1 if caps.once_per_org else None, cite,
            "per organisation over the policy's life" + (" (once)" if caps.once_per_org else ""),
            "每个组织累计上限" + ("（一次性）" if caps.once_per_org else "")))
    if caps.per_org_per_year_cny is not None:
        requests.append(CapRequest(
            tally_key(pack, rule, uscc, str(item_date.year)), "cap.per_org_per_year",
            caps.per_org_per_year_cny, None, cite,
            f"per organisation in {item_date.year}", f"每个组织{item_date.year}年度上限"))
    return sorted(requests, key=lambda r: r.key)


def _amount(rule: RewardRule, facts: Facts, requested: Decimal | None, origin: str,
            cite: dict[str, Any]) -> tuple[Decimal | None, list[dict[str, Any]], list[str]]:
    a = rule.amount
    lines: list[dict[str, Any]] = []
    flags: list[str] = []
    amount: Decimal | None
    if a.kind == "fixed":
        amount = money(a.cny)
        lines.append(line("amount.fixed", True, {"amount_cny": amount}, cite,
                          f"fixed amount {amount} yuan", f"定额{amount}元"))
    elif a.kind == "up_to":
        ceiling = money(a.cny)
        amount = min(money(requested), ceiling) if requested is not None else ceiling
        lines.append(line("amount.up_to", requested is None or money(requested) <= ceiling,
                          {"requested_cny": requested, "ceiling_cny": ceiling,
                           "amount_cny": amount}, cite,
                          f"up to {ceiling} yuan; proposed {amount}",
                          f"不超过{ceiling}元，拟{amount}元"))
        flags.append("amount.requested")
    elif a.kind == "rate":
        base = facts.value(a.base)
        try:
            base_cny = money(base)
        except (InvalidOperation, TypeError, ValueError):
            base_cny = None
        if base_cny is None:
            lines.append(line("amount.rate", False, {"base": a.base, "value": base}, cite,
                              f"no figure at {a.base} to apply the rate to",
                              f"缺少计算基数 {a.base}"))
            return ZERO, lines, flags
        amount = money(base_cny * a.rate)
        if a.min_cny is not None:
            amount = max(amount, money(a.min_cny))
        if a.max_cny is not None:
            amount = min(amount, money(a.max_cny))
        lines.append(line("amount.rate", True, {"base": a.base, "base_cny": base_cny,
                                                "rate": a.rate, "min_cny": a.min_cny,
                                                "max_cny": a.max_cny, "amount_cny": amount},
                          cite, f"{a.rate} × {base_cny} = {amount} yuan",
                          f"{base_cny} × {a.rate} = {amount}元"))
    else:
        amount = money(requested) if requested is not None else None
        lines.append(line("amount.assessed", True, {"requested_cny": requested}, cite,
                          "the policy names no amount: the deciding department sets it",
                          "政策未规定金额，由主管部门核定"))
        flags.append("amount.assessed")
    cap = rule.caps.per_item_cny
    if cap is not None and amount is not None:
        capped = min(amount, money(cap))
        lines.append(line("cap.per_item", True, {"cap_cny": money(cap), "amount_cny": capped},
                          cite, f"at most {money(cap)} yuan per item",
                          f"单项最高{money(cap)}元"))
        amount = capped
    return amount, lines, flags


def evaluate(pack: RewardPack, rule: RewardRule, facts: Facts, *, uscc: str, item_date: date,
             origin: str, requested_cny: Decimal | None = None,
             evidence_codes: tuple[str, ...] = ()) -> Evaluation:
    """Check one claim against one rule; the result says the status the checks lead to (before
    cap room is reserved) and every line of the basis."""
    cite = _cite(pack, rule)
    gov = pack.data.governance
    basis: list[dict[str, Any]] = []
    if facts.enterprise is None:
        basis.append(line("enterprise.known", False, {"uscc": uscc}, cite,
                          "the claimant is not known to rewards yet: the claim waits for the "
                          "registry's enterprise event", "尚未收到登记部门的企业信息，待补齐后审核"))
        return Evaluation("awaiting_facts", basis, None, [], [], None)
    region = facts.enterprise.get("region_code")
    basis.append(line("jurisdiction.covers", covers(pack.jurisdiction, region),
                      {"jurisdiction": pack.jurisdiction, "region_code": region}, cite,
                      f"registered within {pack.jurisdiction}", f"注册地属于{pack.jurisdiction}"))
    in_force = pack.in_force(item_date) and rule.in_force(item_date)
    basis.append(line("policy.in_force", in_force,
                      {"item_date": item_date, "effective_from": pack.effective_from,
                       "effective_to": pack.effective_to, "rule_valid_from": rule.valid_from,
                       "rule_valid_to": rule.valid_to}, cite,
                      "the item falls within the policy's validity", "事项发生在政策有效期内"))
    for condition in rule.trigger.when:
        basis.append(check(condition, facts, pack, rule))
    for condition in rule.eligibility:
        basis.append(check(condition, facts, pack, rule))
    if origin == "filed":
        missing = [e.code for e in rule.evidence if e.code not in evidence_codes]
        basis.append(line("evidence.complete", not missing,
                          {"required": [e.code for e in rule.evidence], "missing": missing},
                          cite, "the required evidence is attached", "申请材料齐全"))

    amount, amount_lines, flags = _amount(rule, facts, requested_cny, origin, cite)
    basis.extend(amount_lines)
    if any(not b["passed"] for b in basis):
        failed = [b for b in basis if not b["passed"]]
        # a filed claim whose item the registry has not announced is a doubt, not a refusal
        if not (origin == "filed" and not facts.item_known
                and all(b["figures"].get("fact", "").startswith("item.") for b in failed)):
            return Evaluation("rejected", basis, ZERO, [], [], None)

    # doubt flags
    if facts.active_flags:
        flags.append("credit.active_flag")
        basis.append(line("doubt.credit", False,
                          {"flags": [{k: f.get(k) for k in ("kind", "flagged_on", "reference")}
                                     for f in facts.active_flags]},
                          {"pack": pack.ref, **gov.source.model_dump(exclude_none=True)},
                          "an active credit flag: a person decides",
                          "存在有效信用标记，转人工审核"))
    if origin == "filed" and not facts.item_known:
        flags.append("evidence.unverified")
        basis.append(line("doubt.evidence_unverified", False, {"item": facts.item}, cite,
                          "the registry has not announced this item yet: a person checks the "
                          "evidence", "登记部门尚未发布该事项，需人工核验材料"))
    if facts.item_party is not None and facts.item_party != uscc:
        # the registry names another party: a person looks (a co-owner, a licensee, a typo),
        # rather than an automatic refusal
        flags.append("evidence.mismatch")
        basis.append(line("doubt.item_party", False,
                          {"claimant": uscc, "item_party": facts.item_party}, cite,
                          "the registry names another party for this item",
                          "登记信息中的权利人与申请人不一致"))
    elif facts.item_party is not None:
        basis.append(line("item.party", True, {"claimant": uscc, "item_party": facts.item_party},
                          cite, "the item belongs to the claimant", "事项权利人与申请人一致"))
    founded = facts.enterprise.get("founded_on")
    if isinstance(founded, str):
        founded = date.fromisoformat(founded)
    if (facts.prior_decided_claims == 0 and founded is not None
            and (facts.today - founded).days < gov.new_organisation_days):
        flags.append("claimant.new_organisation")
        basis.append(line("doubt.new_organisation", False,
                          {"founded_on": founded, "days": (facts.today - founded).days,
                           "threshold_days": gov.new_organisation_days}, None,
                          "first claim of an organisation founded "
                          f"{(facts.today - founded).days} days ago",
                          "新设立组织的首次申请"))
    unusual = rule.review.unusual_over_cny
    if unusual is not None and amount is not None and amount > unusual:
        flags.append("amount.unusual")
        basis.append(line("doubt.amount", False, {"amount_cny": amount, "usual_up_to_cny":
                                                  money(unusual)}, cite,
                          f"{amount} yuan is above the usual {money(unusual)}",
                          f"金额{amount}元超过常规{money(unusual)}元"))
    if not rule.verified or not pack.verified:
        flags.append("policy.unverified")
        basis.append(line("doubt.policy_unverified", False,
                          {"rule_verified": rule.verified, "pack_verified": pack.verified}, cite,
                          "a figure of the rule is not confirmed in the policy text",
                          "规则数额未经核实，转人工审核"))
    if not rule.review.auto_approve:
        flags.append("rule.review_required")
        basis.append(line("doubt.review_required", False, {}, cite,
                          rule.review.reason_zh or "the rule always goes to a person",
                          rule.review.reason_zh or "该事项须人工审核"))
    flags = sorted(set(flags))
    requests = cap_requests(pack, rule, uscc, item_date)
    if flags:
        return Evaluation("pending_review", basis, amount, flags, requests,
                          facts.today + timedelta(days=gov.review_due_days))
    basis.append(line("approval.no_meeting", True, {"doubt_flags": []},
                      {"pack": pack.ref, **gov.source.model_dump(exclude_none=True)},
                      "no doubt flag: approved without a meeting (不见面审批)",
                      "无疑点，不见面审批"))
    return Evaluation("approved", basis, amount, [], requests, None)


def cap_line(request: CapRequest, *, committed_before: Decimal, items_before: int,
             asked: Decimal | None, granted: Decimal | None) -> dict[str, Any]:
    """The basis line of one cap after its room was reserved (or found exhausted)."""
    figures: dict[str, Any] = {"cap_cny": request.cap_cny, "max_items": request.max_items,
                               "committed_before_cny": committed_before,
                               "items_before": items_before, "asked_cny": asked,
                               "granted_cny": granted}
    if request.max_items is not None and items_before >= request.max_items:
        return line(request.code, False, figures, request.clause,
                    f"{request.label_en}: already rewarded {items_before} time(s)",
                    f"{request.label_zh}：已奖励{items_before}次")
    if request.cap_cny is not None and committed_before >= request.cap_cny:
        return line(request.code, False, figures, request.clause,
                    f"{request.label_en}: {committed_before} of {request.cap_cny} yuan already "
                    "committed, nothing left", f"{request.label_zh}：已累计{committed_before}元，"
                    f"达到上限{request.cap_cny}元")
    if asked is not None and granted is not None and granted < asked:
        return line(request.code, True, figures, request.clause,
                    f"{request.label_en}: {request.cap_cny} yuan, {committed_before} committed; "
                    f"the room left, {granted}, is granted",
                    f"{request.label_zh}：上限{request.cap_cny}元，已累计{committed_before}元，"
                    f"按剩余额度{granted}元核定")
    return line(request.code, True, figures, request.clause,
                f"{request.label_en}: within the cap", f"{request.label_zh}：未超上限")


def room(request: CapRequest, committed: Decimal, items: int, amount: Decimal | None
         ) -> Decimal | None:
    """What ``request`` lets through of ``amount`` (None: no amount yet, only the item count
    matters); ZERO when the cap is exhausted."""
    if request.max_items is not None and items >= request.max_items:
        return ZERO
    if request.cap_cny is not None and committed >= money(request.cap_cny):
        return ZERO  # nothing left, whatever the amount (an assessed one too)
    if request.cap_cny is None or amount is None:
        return amount
    return max(ZERO, min(amount, money(request.cap_cny) - committed))
