"""A year of synthetic events for the annual evaluation, and what the evaluation must say.

:func:`scenario` builds facts (enterprises, pool movements, patent states, loans, pledges,
licences, paid claims) around the evaluation year (last year), with the edges that matter:
movements and states just outside the year, a registration at 20:00 UTC on 31 December (already
1 January in China), facts whose events carry no region (resolved through the enterprise
projection), an owner no region is ever known for, replays under new event ids, another
province. It turns them into schema-valid CloudEvents and computes the expected figures with
plain loops over the facts (:func:`expected`), independent of the SQL under test.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.db import today_cn
from shared.events.catalogue import event_type, validate_payload
from shared.events.envelope import CloudEvent
from tests.factories import make_uscc
from tests.registry.ip_factories import application_no

YEAR = today_cn().year - 1  # a complete year, whenever the suite runs
FIRST, LAST = date(YEAR, 1, 1), date(YEAR, 12, 31)
PREVIOUS_END = date(YEAR - 1, 12, 31)


@dataclass(frozen=True)
class Ent:
    uscc: str
    name: str
    region_code: str | None  # None: the registry never announces it (no enterprise event)

    @property
    def province(self) -> str | None:
        return self.region_code[:2] if self.region_code else None


@dataclass(frozen=True)
class Move:
    ent: Ent
    revision: int
    movement: str  # admitted | graduated | removed
    on: date
    reason: str | None = None


@dataclass(frozen=True)
class State:
    revision: int
    event: str  # patent.registered | patent.updated | patent.status_changed
    effective: date  # the day in China the state took effect
    status: str
    in_force: bool
    high_value: bool
    utc_time: str | None = None  # registered_at / updated_at when it must be exact


@dataclass
class Patent:
    number: str
    kind: str
    owner: Ent
    region_in_event: bool
    states: list[State]


@dataclass
class Loan:
    loan_id: str
    ent: Ent
    region_in_event: bool
    green: bool
    applied_on: date
    deadline: date | None
    decision: str | None = None  # approved | rejected
    decided_on: date | None = None
    disbursed_on: date | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class Pledge:
    pledge_id: str
    loan_id: str
    ent: Ent
    on: date
    amount: Decimal


@dataclass(frozen=True)
class Licence:
    license_id: str
    kind: str
    licensee: Ent
    region_in_event: bool
    starts_on: date


@dataclass(frozen=True)
class PaidClaim:
    ent: Ent
    pack_ref: str
    rule_code: str
    status: str
    paid_cny: Decimal | None
    paid_on: date | None
    recovered_cny: Decimal | None = None


@dataclass
class Scenario:
    enterprises: list[Ent]
    moves: list[Move]
    patents: list[Patent]
    loans: list[Loan]
    pledges: list[Pledge]
    licences: list[Licence]
    claims: list[PaidClaim]
    events: list[CloudEvent] = field(default_factory=list)


# --- building -----------------------------------------------------------------------------------

def _uscc(rng: random.Random, taken: set[str]) -> str:
    while True:
        code = make_uscc(rng)
        if code not in taken:
            taken.add(code)
            return code


def _day(rng: random.Random, first: date = FIRST, last: date = LAST) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def scenario(seed: int = 2025) -> Scenario:
    rng = random.Random(seed)
    taken: set[str] = set()

    def ent(name: str, region: str | None) -> Ent:
        return Ent(_uscc(rng, taken), name, region)

    datong = [ent(f"大同示例企业{i}", f"1402{rng.choice(['00', '12', '13', '14'])}")
              for i in range(6)]
    taiyuan = [ent(f"太原示例企业{i}", "140105") for i in range(6)]
    hubei = [ent(f"大冶示例企业{i}", "420281") for i in range(5)]
    ghost = ent("无登记企业", None)  # never announced: its facts have no region
    shanxi = datong + taiyuan
    enterprises = shanxi + hubei + [ghost]

    # --- pool: movements in, before and after the year; another province --------------------
    moves: list[Move] = []
    before = [shanxi[0], shanxi[1], shanxi[6], shanxi[7]]
    for i, e in enumerate(before):  # two years before; two are left at the end of the year before
        moves.append(Move(e, 1, "admitted", date(YEAR - 2, 3 + i, 10)))
    moves.append(Move(shanxi[7], 2, "removed", date(YEAR - 1, 6, 1), "no_progress_two_years"))
    moves.append(Move(shanxi[6], 2, "graduated", date(YEAR - 1, 11, 20)))
    moves.append(Move(shanxi[0], 2, "graduated", date(YEAR, 4, 18)))
    moves.append(Move(shanxi[1], 2, "removed", date(YEAR, 9, 30), "data_fraud"))
    half = date(YEAR, 6, 30)  # admitted before any later movement of theirs
    for e in shanxi[2:6] + shanxi[8:11]:  # seven admissions in the year
        moves.append(Move(e, 1, "admitted", _day(rng, FIRST, half)))
    moves.append(Move(shanxi[2], 2, "graduated", date(YEAR, 12, 31)))  # last day: counted
    moves.append(Move(shanxi[3], 2, "removed", date(YEAR, 7, 7), "no_progress_two_years"))
    moves.append(Move(shanxi[4], 2, "removed", date(YEAR + 1, 1, 1), "serious_dishonesty"))
    moves.append(Move(shanxi[11], 1, "admitted", date(YEAR + 1, 1, 2)))  # next year
    for e in hubei[:3]:
        moves.append(Move(e, 1, "admitted", _day(rng, FIRST, half)))
    moves.append(Move(hubei[0], 2, "removed", _day(rng, date(YEAR, 10, 1)), "tax_evasion"))

    # --- patents: ten high-value inventions in force in Shanxi at the end of the year before ---
    patents: list[Patent] = []

    def patent(owner: Ent, states: list[State], kind: str = "invention",
               region_in_event: bool = True) -> Patent:
        digit = {"invention": "1", "utility_model": "2", "pct_invention": "8"}[kind]
        number = application_no(2019, digit, rng)
        while any(p.number == number for p in patents):
            number = application_no(2019, digit, rng)
        p = Patent(number, kind, owner, region_in_event, states)
        patents.append(p)
        return p

    def reg(on: date, hv: bool = True, status: str = "granted", in_force: bool = True,
            utc_time: str | None = None) -> State:
        return State(1, "patent.registered", on, status, in_force, hv, utc_time)

    stock_before = []
    for i in range(10):
        owner = shanxi[i % len(shanxi)]
        registered = _day(rng, date(YEAR - 1, 1, 1), date(YEAR - 1, 12, 30))
        stock_before.append(patent(owner, [reg(registered)],
                                   kind="pct_invention" if i == 9 else "invention",
                                   region_in_event=i % 3 != 0))
    # in the year: one lapses (from the fee's due date), one is invalidated next year
    stock_before[0].states.append(State(2, "patent.status_changed", date(YEAR, 9, 1), "lapsed",
                                      False, True))
    stock_before[1].states.append(State(2, "patent.status_changed", date(YEAR + 1, 1, 15),
                                      "invalidated", False, True))
    # a new registration (its event without region), a grant, one flipped to high-value by the
    # registry's sweep, a second lapse: 10 - 2 + 3 = 11 at the end of the year, 10.0 % growth
    patent(shanxi[8], [reg(date(YEAR, 11, 30))], region_in_event=False)
    patent(shanxi[3], [reg(date(YEAR - 1, 5, 5), hv=False, status="pending", in_force=False),
                       State(2, "patent.status_changed", date(YEAR, 6, 16), "granted", True,
                             True)])
    patent(shanxi[9], [reg(date(YEAR - 1, 2, 2), hv=False),
                       State(2, "patent.updated", date(YEAR, 8, 8), "granted", True, True)])
    stock_before[2].states.append(State(2, "patent.status_changed", date(YEAR, 3, 3), "lapsed",
                                      False, True))
    # not counted: a utility model flagged high-value, a non-high-value invention, a
    # registration at 20:00 UTC on 31 December (1 January in China), another province
    patent(shanxi[4], [reg(date(YEAR, 5, 5))], kind="utility_model")
    patent(shanxi[5], [reg(date(YEAR, 5, 6), hv=False)])
    patent(shanxi[10], [reg(date(YEAR + 1, 1, 1), utc_time=f"{YEAR}-12-31T20:00:00Z")])
    for e in hubei:
        patent(e, [reg(_day(rng))])
    patent(ghost, [reg(date(YEAR, 4, 4))], region_in_event=False)  # counted nowhere but nationally

    # --- loans: disbursements, green-channel decisions ----------------------------------------
    loans: list[Loan] = []

    def loan(e: Ent, **kw) -> Loan:
        item = Loan(str(uuid.UUID(int=rng.getrandbits(128))), e, kw.pop("region_in_event", True),
                    **kw)
        loans.append(item)
        return item

    amounts = ["1000000.00", "2500000.50", "800000.00", "3000000.25", "1200000.00"]
    for i, amount in enumerate(amounts):
        applied = date(YEAR, 1 + 2 * i, 5)
        loan(shanxi[i], green=i < 3, applied_on=applied,
             deadline=applied + timedelta(days=10) if i < 3 else None, decision="approved",
             decided_on=applied + timedelta(days=12 if i == 1 else 7),  # loan 1: late
             disbursed_on=applied + timedelta(days=20), amount=Decimal(amount),
             region_in_event=i != 2)
    loan(shanxi[6], green=True, applied_on=date(YEAR, 8, 1), deadline=date(YEAR, 8, 11),
         decision="rejected", decided_on=date(YEAR, 8, 9))
    loan(shanxi[7], green=True, applied_on=date(YEAR, 11, 10), deadline=date(YEAR, 11, 20))
    loan(shanxi[8], green=True, applied_on=date(YEAR, 12, 20), deadline=date(YEAR + 1, 1, 5))
    loan(shanxi[9], green=True, applied_on=date(YEAR - 1, 12, 1), deadline=date(YEAR - 1, 12, 11),
         decision="approved", decided_on=date(YEAR - 1, 12, 10),
         disbursed_on=date(YEAR - 1, 12, 28), amount=Decimal("999999.99"))
    loan(shanxi[10], green=False, applied_on=date(YEAR, 6, 1), deadline=None,
         decision="approved", decided_on=date(YEAR, 6, 30), disbursed_on=date(YEAR + 1, 1, 3),
         amount=Decimal("450000.00"))
    for e in hubei[:2]:
        loan(e, green=True, applied_on=date(YEAR, 4, 1), deadline=date(YEAR, 4, 11),
             decision="approved", decided_on=date(YEAR, 4, 20),
             disbursed_on=date(YEAR, 5, 1), amount=Decimal("700000.00"))

    pledges = [Pledge(str(uuid.UUID(int=rng.getrandbits(128))), lo.loan_id, lo.ent,
                      lo.applied_on + timedelta(days=15), lo.amount)
               for lo in loans if lo.amount is not None]

    licences: list[Licence] = []
    for i in range(4):
        licences.append(Licence(str(uuid.UUID(int=rng.getrandbits(128))), "open", shanxi[i + 2],
                                i % 2 == 0, _day(rng)))
    licences.append(Licence(str(uuid.UUID(int=rng.getrandbits(128))), "exclusive", shanxi[1],
                            True, date(YEAR, 3, 1)))
    licences.append(Licence(str(uuid.UUID(int=rng.getrandbits(128))), "open", shanxi[0], True,
                            date(YEAR + 1, 1, 2)))
    licences.append(Licence(str(uuid.UUID(int=rng.getrandbits(128))), "open", hubei[1], True,
                            date(YEAR, 6, 1)))

    sx, dt, ny = "rewards-shanxi-2025@v1", "rewards-datong-2023@v1", "rewards-national-2024@v1"
    claims = [
        PaidClaim(shanxi[0], sx, "patent_intensive_product", "paid", Decimal("20000.00"),
                  date(YEAR, 3, 1)),
        PaidClaim(shanxi[1], sx, "patent_intensive_product", "paid", Decimal("20000.00"),
                  date(YEAR, 5, 1)),
        PaidClaim(shanxi[2], sx, "gi_trademark", "recovered", Decimal("30000.00"),
                  date(YEAR, 6, 1), recovered_cny=Decimal("30000.00")),
        PaidClaim(shanxi[3], sx, "hvp_cultivation_center", "recovery", Decimal("300000.00"),
                  date(YEAR, 7, 1)),
        PaidClaim(shanxi[0], dt, "srdi_ip_support", "paid", Decimal("15000.50"),
                  date(YEAR, 12, 31)),
        PaidClaim(shanxi[6], ny, "pool_graduation_support", "paid", Decimal("50000.00"),
                  date(YEAR, 10, 1)),
        # not counted: paid the year before, approved and not paid, another province
        PaidClaim(shanxi[1], sx, "patent_intensive_product", "paid", Decimal("20000.00"),
                  date(YEAR - 1, 12, 31)),
        PaidClaim(shanxi[4], sx, "patent_intensive_product", "approved", None, None),
        PaidClaim(hubei[0], "rewards-daye-2023@v1", "high_value_invention_grant", "paid",
                  Decimal("8000.00"), date(YEAR, 3, 3)),
    ]
    s = Scenario(enterprises, moves, patents, loans, pledges, licences, claims)
    s.events = build_events(s, rng)
    return s


# --- events -------------------------------------------------------------------------------------

def _event(name: str, key: str, data: dict[str, Any]) -> CloudEvent:
    validate_payload(name, data)  # what the consumer checks on receipt
    etype = event_type(name)
    return CloudEvent(type=name, source=etype.source, subject=key, data=data,
                      dataschema=etype.dataschema, correlationid=f"eval-{uuid.uuid4().hex[:8]}")


def _instant(on: date) -> str:
    """10:00 in China on ``on``, as UTC."""
    return (datetime(on.year, on.month, on.day, 2, 0, tzinfo=UTC).isoformat()
            .replace("+00:00", "Z"))


def enterprise_event(e: Ent) -> CloudEvent:
    return _event("enterprise.registered", e.uscc, {
        "uscc": e.uscc, "name": e.name, "region_code": e.region_code,
        "province_code": e.province, "industry_code": "C3985", "ownership": "private",
        "founded_on": "2015-01-01", "revision": 1, "registered_at": _instant(date(YEAR - 2, 1, 1))})


def pool_event(m: Move) -> CloudEvent:
    name = f"pool.{m.movement}"
    data: dict[str, Any] = {"uscc": m.ent.uscc, "province_code": m.ent.province,
                            "revision": m.revision}
    field_ = {"admitted": "admitted_on", "graduated": "graduated_on",
              "removed": "removed_on"}[m.movement]
    data[field_] = m.on.isoformat()
    if m.movement == "removed":
        data["reason"] = m.reason
    return _event(name, m.ent.uscc, data)


def patent_event(p: Patent, s: State, previous: State | None) -> CloudEvent:
    owner = {"uscc": p.owner.uscc, "name": p.owner.name, "share": "100"}
    if p.region_in_event and p.owner.region_code:
        owner["region_code"] = p.owner.region_code
    data: dict[str, Any] = {
        "application_no": p.number, "kind": p.kind, "title": f"测试专利 {p.number}",
        "owners": [owner], "filing_date": "2019-03-01",
        "grant_date": "2021-06-01" if s.status != "pending" else None, "status": s.status,
        "in_force": s.in_force,
        "high_value": {"is_high_value": s.high_value,
                       "categories": ["strategic_emerging_industry"] if s.high_value else [],
                       "assessed_on": s.effective.isoformat()},
        "encumbrances": {"pledged": False, "licences": {}}, "open_license_blockers": [],
        "revision": s.revision}
    if s.event == "patent.registered":
        data["registered_at"] = s.utc_time or _instant(s.effective)
    elif s.event == "patent.updated":
        data["updated_at"] = s.utc_time or _instant(s.effective)
    else:
        data.update(previous_status=previous.status if previous else "pending",
                    changed_on=s.effective.isoformat(), changed_at=_instant(s.effective))
    return _event(s.event, p.owner.uscc, data)


def _loan_data(lo: Loan, status: str, revision: int) -> dict[str, Any]:
    return {
        "loan_id": lo.loan_id, "borrower_uscc": lo.ent.uscc, "borrower_name": lo.ent.name,
        "bank_code": "BANK001", "status": status, "requested_amount_cny": "1000000.00",
        "term_months": 12, "applied_on": lo.applied_on.isoformat(),
        "region_code": lo.ent.region_code if lo.region_in_event else None,
        "province_code": lo.ent.province if lo.region_in_event else None,
        "pool_member": False, "green_channel": lo.green,
        "decision_deadline": lo.deadline.isoformat() if lo.deadline else None,
        "patents": ["201910000001.7"], "pack": "loans-national@v1", "revision": revision}


def loan_events(lo: Loan) -> list[CloudEvent]:
    out = [_event("loan.applied", lo.ent.uscc, _loan_data(lo, "applied", 1) | {
        "purpose": "working capital", "applied_at": _instant(lo.applied_on)})]
    if lo.decision:
        data = _loan_data(lo, lo.decision, 2) | {
            "decided_on": lo.decided_on.isoformat(), "decided_at": _instant(lo.decided_on),
            "decision_late": (lo.decided_on > lo.deadline) if lo.deadline else None}
        if lo.decision == "approved":
            data |= {"approved_amount_cny": f"{lo.amount or Decimal('500000.00')}",
                     "interest_rate": "0.0385", "approved_term_months": 12}
        else:
            data["reason"] = "insufficient collateral"
        out.append(_event(f"loan.{lo.decision}", lo.ent.uscc, data))
    if lo.disbursed_on:
        out.append(_event("loan.disbursed", lo.ent.uscc, _loan_data(lo, "disbursed", 3) | {
            "approved_amount_cny": f"{lo.amount}", "disbursed_amount_cny": f"{lo.amount}",
            "disbursed_on": lo.disbursed_on.isoformat(),
            "maturity_on": (lo.disbursed_on + timedelta(days=365)).isoformat(),
            "outstanding_principal_cny": f"{lo.amount}",
            "disbursed_at": _instant(lo.disbursed_on)}))
    return out


def pledge_event(p: Pledge) -> CloudEvent:
    return _event("pledge.registered", p.ent.uscc, {
        "pledge_id": p.pledge_id, "loan_id": p.loan_id, "application_no": "201910000001.7",
        "pledgor_uscc": p.ent.uscc, "pledgee_bank_code": "BANK001", "pledgee_name": "示例银行",
        "registered_on": p.on.isoformat(), "secured_amount_cny": f"{p.amount}", "revision": 1,
        "registered_at": _instant(p.on)})


def licence_event(lic: Licence) -> CloudEvent:
    licensee: dict[str, Any] = {"uscc": lic.licensee.uscc, "name": lic.licensee.name}
    if lic.region_in_event:
        licensee["region_code"] = lic.licensee.region_code
    return _event("license.granted", lic.licensee.uscc, {
        "license_id": lic.license_id, "application_no": "201910000002.1",
        "license_type": lic.kind, "licensor": {"uscc": None, "name": "某大学"},
        "licensee": licensee, "starts_on": lic.starts_on.isoformat(),
        "fee": {"lump_sum_cny": "50000.00", "royalty_rate": None},
        "granted_at": _instant(lic.starts_on), "verified": True})


def build_events(s: Scenario, rng: random.Random) -> list[CloudEvent]:
    """Every fact as its event(s), shuffled across kinds (per-entity order kept), plus replays
    of a few under new event ids."""
    streams: list[list[CloudEvent]] = [[enterprise_event(e)] for e in s.enterprises
                                       if e.region_code]
    by_ent: dict[str, list[Move]] = {}
    for m in s.moves:
        by_ent.setdefault(m.ent.uscc, []).append(m)
    streams += [[pool_event(m) for m in sorted(ms, key=lambda m: m.revision)]
                for ms in by_ent.values()]
    for p in s.patents:
        streams.append([patent_event(p, st, p.states[i - 1] if i else None)
                        for i, st in enumerate(p.states)])
    streams += [loan_events(lo) for lo in s.loans]
    streams += [[pledge_event(p)] for p in s.pledges]
    streams += [[licence_event(lic)] for lic in s.licences]
    events: list[CloudEvent] = []
    while streams:  # interleave the streams, each in its own order
        stream = rng.choice(streams)
        events.append(stream.pop(0))
        if not stream:
            streams.remove(stream)
    replayable = [e for e in events if e.type != "enterprise.registered"]
    for original in rng.sample(replayable, 12):  # the producer re-published: new id, same data
        events.append(CloudEvent(type=original.type, source=original.source,
                                 subject=original.subject, data=dict(original.data),
                                 dataschema=original.dataschema))
    return events


# --- the expected figures (plain loops over the facts) ------------------------------------------

def _in(region: str | None, province: str | None, prefix: str | None) -> bool:
    if province is None and prefix is None:
        return True  # nationwide: even what no region is known for
    if region is None:
        return False
    return (province is None or region[:2] == province) and (
        prefix is None or region.startswith(prefix))


def _within(day: date | None) -> bool:
    return day is not None and FIRST <= day <= LAST


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _share_pct(part: int, whole: int) -> str | None:
    return None if not whole else f"{(Decimal(part) * 100 / whole).quantize(Decimal('0.1'))}"


def _stock(s: Scenario, at: date, province: str | None, prefix: str | None) -> int:
    count = 0
    for p in s.patents:
        known = [st for st in p.states if st.effective <= at]
        if not known:
            continue
        last = max(known, key=lambda st: st.revision)
        if (p.kind in ("invention", "pct_invention") and last.in_force and last.high_value
                and _in(p.owner.region_code, province, prefix)):
            count += 1
    return count


def _pool_size(s: Scenario, at: date, province: str | None, prefix: str | None) -> int:
    latest: dict[str, Move] = {}
    for m in sorted(s.moves, key=lambda m: m.revision):
        if m.on <= at:
            latest[m.ent.uscc] = m
    return sum(1 for m in latest.values()
               if m.movement == "admitted" and _in(m.ent.region_code, province, prefix))


def expected(s: Scenario, province: str | None = "14", prefix: str | None = None
             ) -> dict[str, Any]:
    """The figures the evaluation of YEAR must show for the scope."""
    here = [m for m in s.moves if _within(m.on) and _in(m.ent.region_code, province, prefix)]
    reasons: dict[str, int] = {}
    for m in here:
        if m.movement == "removed":
            reasons[m.reason] = reasons.get(m.reason, 0) + 1
    current, previous = _stock(s, LAST, province, prefix), _stock(s, PREVIOUS_END, province,
                                                                   prefix)
    growth = ((Decimal(current) - previous) / previous) if previous else None
    disbursed = [lo for lo in s.loans if _within(lo.disbursed_on)
                 and _in(lo.ent.region_code, province, prefix)]
    pledges = [p for p in s.pledges if _within(p.on) and _in(p.ent.region_code, province,
                                                              prefix)]
    licences = [lic for lic in s.licences if lic.kind == "open" and _within(lic.starts_on)
                and _in(lic.licensee.region_code, province, prefix)]
    paid = [c for c in s.claims if c.paid_on and _within(c.paid_on) and c.status in (
        "paid", "recovery", "recovered", "recovery_waived")
        and _in(c.ent.region_code, province, prefix)]
    green = [lo for lo in s.loans if lo.green and _in(lo.ent.region_code, province, prefix)]
    decided = [lo for lo in green if _within(lo.decided_on)]
    within = [lo for lo in decided if lo.deadline and lo.decided_on <= lo.deadline]
    late = [lo for lo in decided if lo.deadline and lo.decided_on > lo.deadline]
    overdue = [lo for lo in green if lo.deadline and FIRST <= lo.deadline < LAST
               and (lo.decided_on is None or lo.decided_on > LAST)]
    by_policy: dict[tuple[str, str], dict[str, Any]] = {}
    for c in paid:
        slot = by_policy.setdefault((c.pack_ref, c.rule_code), {
            "claims_paid": 0, "paid": Decimal(0), "recovered": Decimal(0), "in_recovery": 0})
        slot["claims_paid"] += 1
        slot["paid"] += c.paid_cny
        slot["in_recovery"] += c.status == "recovery"
        if c.status == "recovered":
            slot["recovered"] += c.recovered_cny or Decimal(0)
    total_paid = sum((c.paid_cny for c in paid), Decimal(0))
    total_recovered = sum((c.recovered_cny or Decimal(0) for c in paid
                           if c.status == "recovered"), Decimal(0))
    return {
        "pool": {
            "admissions": sum(m.movement == "admitted" for m in here),
            "graduations": sum(m.movement == "graduated" for m in here),
            "removals": sum(m.movement == "removed" for m in here),
            "removals_by_reason": [{"reason": r, "count": n} for r, n in sorted(reasons.items())],
            "size_at_year_end": _pool_size(s, LAST, province, prefix),
            "size_at_previous_year_end": _pool_size(s, PREVIOUS_END, province, prefix),
        },
        "high_value_patents": {
            "in_force_at_year_end": current, "in_force_at_previous_year_end": previous,
            "growth_pct": None if growth is None else f"{(growth * 100).quantize(Decimal('0.1'))}",
            "assessment": ("not_assessable" if growth is None
                           else "met" if growth >= Decimal("0.10") else "not_met"),
        },
        "pledge_financing": {
            "loans_disbursed": len(disbursed),
            "amount_disbursed_cny": _money(sum((lo.amount for lo in disbursed), Decimal(0))),
            "pledges_registered": len(pledges),
            "secured_amount_cny": _money(sum((p.amount for p in pledges), Decimal(0))),
        },
        "open_licences": {"granted": len(licences)},
        "rewards": {
            "claims_paid": len(paid), "paid_cny": _money(total_paid),
            "recovered_cny": _money(total_recovered),
            "in_recovery": sum(c.status == "recovery" for c in paid),
            "net_cny": _money(total_paid - total_recovered),
            "by_policy": {k: {"claims_paid": v["claims_paid"], "paid_cny": _money(v["paid"]),
                              "recovered_cny": _money(v["recovered"]),
                              "in_recovery": v["in_recovery"]}
                          for k, v in by_policy.items()},
        },
        "green_channel": {
            "decided": len(decided), "within_deadline": len(within), "late": len(late),
            "timeliness_pct": _share_pct(len(within), len(within) + len(late)),
            "undecided_past_deadline": len(overdue),
        },
    }


def claim_rows(s: Scenario) -> list[dict[str, Any]]:
    """``reward_claims`` rows for the paid claims (what the claims module leaves behind)."""
    now = datetime.now(UTC)
    rows = []
    for i, c in enumerate(s.claims):
        pack_id = c.pack_ref.split("@")[0]
        rows.append({
            "id": str(uuid.uuid4()), "uscc": c.ent.uscc, "enterprise_name": c.ent.name,
            "province_code": c.ent.province, "region_code": c.ent.region_code,
            "pack_id": pack_id, "pack_ref": c.pack_ref,
            "jurisdiction": {"rewards-shanxi-2025": "14", "rewards-datong-2023": "1402",
                             "rewards-national-2024": "national"}.get(pack_id, "420281"),
            "rule_code": c.rule_code, "item_kind": "product", "item_ref": f"eval-seed-{i}",
            "item_date": c.paid_on or LAST, "item": {}, "origin": "filed", "evidence": [],
            "status": c.status, "requested_cny": c.paid_cny, "amount_cny": c.paid_cny,
            "reserved": {}, "doubt_flags": [], "department": "market_regulation",
            "fund_code": "shanxi-ip-fund", "basis": [], "paid_cny": c.paid_cny,
            "paid_on": c.paid_on, "recovered_cny": c.recovered_cny, "revision": 1,
            "created_at": now, "updated_at": now})
    return rows


def figures_of(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The evaluation's figures in the shape of :func:`expected`."""
    pool, hv, fin = (evaluation["pool"], evaluation["high_value_patents"],
                     evaluation["pledge_financing"])
    rew, gc = evaluation["rewards"], evaluation["green_channel"]
    return {
        "pool": {k: pool[k] for k in ("admissions", "graduations", "removals",
                                      "removals_by_reason", "size_at_year_end",
                                      "size_at_previous_year_end")},
        "high_value_patents": {k: hv[k] for k in ("in_force_at_year_end",
                                                  "in_force_at_previous_year_end", "growth_pct",
                                                  "assessment")},
        "pledge_financing": {k: fin[k] for k in ("loans_disbursed", "amount_disbursed_cny",
                                                 "pledges_registered", "secured_amount_cny")},
        "open_licences": {"granted": evaluation["open_licences"]["granted"]},
        "rewards": {k: rew[k] for k in ("claims_paid", "paid_cny", "recovered_cny",
                                        "in_recovery", "net_cny")}
        | {"by_policy": {(r["pack_ref"], r["rule_code"]): {
            "claims_paid": r["claims_paid"], "paid_cny": r["paid_cny"],
            "recovered_cny": r["recovered_cny"], "in_recovery": r["in_recovery"]}
            for r in rew["by_policy"]}},
        "green_channel": {k: gc[k] for k in ("decided", "within_deadline", "late",
                                             "timeliness_pct", "undecided_past_deadline")},
    }

