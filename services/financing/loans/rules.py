"""Loan rules as plain functions of data: the pack's shape, pledge eligibility of a patent, the
approval cap, the dedicated pool quota and the green-channel deadline.

Each rule returns basis lines ``{"rule", "passed", "figures", "clause"}`` so a decision can answer
"why?" from the API alone (RULES.md §4.3; ARCHITECTURE "every automated decision stores its
basis"). No database here: the service loads the facts and stores what these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy import PolicyPack, PolicySource

CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """CNY yuan with two decimals (half-up, the way amounts are stated)."""
    return Decimal(value).quantize(CENT)


def money_str(value: Decimal | None) -> str | None:
    return None if value is None else f"{money(value):f}"


def rate_str(value: Decimal | None) -> str | None:
    """A rate as its shortest decimal string ("0.4", "0.0385"), the same on every backend."""
    return None if value is None else f"{Decimal(value).normalize():f}"


# --- the pack -----------------------------------------------------------------------------------

class RuleMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verified: bool
    note: str | None = None
    sources: list[PolicySource] = Field(min_length=1)


class PledgeableKinds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: RuleMeta
    kinds: dict[str, str] = Field(min_length=1, description="patent kind → IP type for rates")


class PledgeRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: RuleMeta
    default: dict[str, Decimal] = Field(min_length=1, description="IP type → pledge rate")
    banks: dict[str, dict[str, Decimal]] = Field(
        default_factory=dict, description="bank code → IP type → rate (overrides the default)")

    @model_validator(mode="after")
    def _rates_are_fractions(self) -> "PledgeRates":
        tables = {"default": self.default, **{f"banks.{b}": r for b, r in self.banks.items()}}
        for name, rates in tables.items():
            for ip_type, rate in rates.items():
                if not Decimal(0) < rate <= Decimal(1):
                    raise ValueError(f"{name}.{ip_type}: a pledge rate is in (0, 1], got {rate}")
        return self


class GreenChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_days: int = Field(ge=1, le=365)
    day_kind: Literal["calendar"]
    verified: bool
    note: str | None = None
    sources: list[PolicySource] = Field(min_length=1)


class PoolQuota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_quota: bool = Field(description="refuse a pool enterprise's approval when the bank "
                                            "has set no quota for the year")
    verified: bool
    note: str | None = None
    sources: list[PolicySource] = Field(min_length=1)


class ValuationRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_unexpired: bool
    note: str | None = None


class LoanPackData(BaseModel):
    """The ``data`` section of a loans-*.yaml pack."""

    model_config = ConfigDict(extra="forbid")

    pledgeable_kinds: PledgeableKinds
    pledge_rates: PledgeRates
    green_channel: GreenChannel
    pool_quota: PoolQuota
    valuation: ValuationRule

    @model_validator(mode="after")
    def _every_type_has_a_default_rate(self) -> "LoanPackData":
        missing = sorted(set(self.pledgeable_kinds.kinds.values()) - set(self.pledge_rates.default))
        if missing:
            raise ValueError(f"pledge_rates.default has no rate for IP type(s) "
                             f"{', '.join(missing)} named in pledgeable_kinds")
        return self


LoanPack = PolicyPack[LoanPackData]


def pack_ref(pack: LoanPack) -> str:
    return f"{pack.id}@v{pack.version}"


def _clause(pack: LoanPack, sources: list[PolicySource]) -> list[dict[str, Any]]:
    ref = pack_ref(pack)
    return [{"pack": ref, **s.model_dump(exclude_none=True)} for s in sources]


# --- pledge eligibility of one patent -----------------------------------------------------------

@dataclass(frozen=True)
class PatentView:
    """What the eligibility rules need to know about a patent (from financing's projection)."""

    application_no: str
    kind: str
    status: str
    in_force: bool
    suspended: bool
    registry_pledged: bool
    owners: tuple[tuple[str | None, str], ...]  # (uscc or None, name) in the registry's order
    term_ends_on: date | None = None  # statutory term end; past it the patent is not in force

    def owner_keys(self) -> list[str]:
        """How a co-owner is named in consents: its USCC, or its name without one."""
        return [uscc or name for uscc, name in self.owners]


@dataclass
class Check:
    rule: str
    passed: bool
    message: str = ""
    message_zh: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    conflict: bool = False  # a state conflict (409) rather than an ineligible input (422)

    def line(self, clause: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "passed": self.passed, "figures": self.figures}
        if clause:
            out["clause"] = clause
        if not self.passed:
            out["message"] = self.message
        return out


SUSPENSION_CLAUSE = {"document": "中华人民共和国专利法实施细则（2023年修订）",
                     "clause": "第一百零三条至第一百零五条（中止期间暂停质押手续）",
                     "confidence": "C"}


def patent_checks(patent: PatentView | None, application_no: str, applicant: str,
                  pack: LoanPack, *, actively_pledged: bool,
                  consented_owner_keys: set[str], today: date | None = None) -> list[Check]:
    """Every rule a patent must pass to be pledged by ``applicant``; the failed ones say why.

    The one definition of "pledgeable": loan applications and the whitelist both use it."""
    if patent is None:
        return [Check("patent.known", False,
                      f"patent {application_no} is not known to financing (not registered, or "
                      "not yet projected from the registry)", "该专利未在登记系统中登记",
                      {"application_no": application_no})]
    checks: list[Check] = []
    owner_usccs = [uscc for uscc, _ in patent.owners if uscc]
    owned = applicant in owner_usccs
    checks.append(Check("patent.owned_by_applicant", owned,
                        f"patent {application_no} is not owned by {applicant}",
                        "该专利不属于申请人", {"owners": [n for _, n in patent.owners]}))
    term_over = (today is not None and patent.term_ends_on is not None
                 and patent.term_ends_on < today)
    granted = patent.status == "granted" and patent.in_force and not term_over
    checks.append(Check("patent.granted_in_force", granted,
                        f"patent {application_no} is not granted and in force (status "
                        f"{patent.status}, in_force {patent.in_force}, term ends "
                        f"{patent.term_ends_on})", "该专利未授权或已失效",
                        {"status": patent.status, "in_force": patent.in_force,
                         "term_ends_on": patent.term_ends_on.isoformat()
                         if patent.term_ends_on else None}))
    kinds = pack.data.pledgeable_kinds.kinds
    checks.append(Check("patent.kind_pledgeable", patent.kind in kinds,
                        f"patent {application_no} is a {patent.kind}; pledgeable kinds: "
                        f"{', '.join(kinds)}", "该类型专利不可质押",
                        {"kind": patent.kind, "pledgeable": sorted(kinds)}))
    checks.append(Check("patent.not_suspended", not patent.suspended,
                        f"patent {application_no} has its procedures suspended (ownership dispute "
                        "or court preservation): pledge procedures are frozen",
                        "该专利处于中止程序，不能办理质押", {"suspended": patent.suspended}))
    if owned:
        others = [k for k in patent.owner_keys() if k != applicant]
        missing = [k for k in others if k not in consented_owner_keys]
        checks.append(Check("patent.co_owners_consented", not missing,
                            f"patent {application_no} is co-owned; no pledge consent recorded "
                            f"from {', '.join(missing)}", "共有专利质押须经其他共有人同意",
                            {"co_owners": others, "missing_consents": missing}))
    pledged = patent.registry_pledged or actively_pledged
    checks.append(Check("patent.not_pledged", not pledged,
                        f"patent {application_no} is already pledged "
                        f"({'registered at CNIPA' if patent.registry_pledged else 'under another loan application or loan'})",
                        "该专利已质押，不能重复质押",
                        {"registry_pledged": patent.registry_pledged,
                         "financing_pledge_active": actively_pledged}, conflict=True))
    return checks


# --- the approval cap ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PledgedValue:
    """A pledged patent with its latest valuation (None when it has none)."""

    application_no: str
    kind: str
    valuation: dict[str, Any] | None


@dataclass
class CapResult:
    cap_cny: Decimal
    lines: list[dict[str, Any]]
    missing: list[str]   # patents without a usable valuation
    basis: dict[str, Any]


def pledge_rate(pack: LoanPack, bank_code: str, kind: str) -> tuple[str, Decimal, str]:
    """(IP type, rate, where the rate came from) for a bank and a patent kind."""
    data = pack.data
    ip_type = data.pledgeable_kinds.kinds.get(kind, kind)
    bank_rates = data.pledge_rates.banks.get(bank_code, {})
    if ip_type in bank_rates:
        return ip_type, bank_rates[ip_type], f"banks.{bank_code}.{ip_type}"
    return ip_type, data.pledge_rates.default[ip_type], f"default.{ip_type}"


def pledge_cap(pack: LoanPack, bank_code: str, pledged: list[PledgedValue], on: date) -> CapResult:
    """Cap = Σ pledge rate × latest valuation over the pledged patents, rounded down to the fen.

    Computed in full precision and rounded once, down, so the cap never exceeds the exact
    product (RULES.md §4.2 rounding convention, §4.3 formula).
    """
    total = Decimal(0)
    lines: list[dict[str, Any]] = []
    missing: list[str] = []
    for p in pledged:
        ip_type, rate, rate_source = pledge_rate(pack, bank_code, p.kind)
        v = p.valuation
        expired = (v is not None and pack.data.valuation.require_unexpired
                   and v.get("valid_until") is not None and v["valid_until"] < on)
        if v is None or expired:
            missing.append(p.application_no)
            lines.append({"application_no": p.application_no, "ip_type": ip_type,
                          "pledge_rate": rate_str(rate), "rate_source": rate_source,
                          "valuation": None if v is None else _valuation_view(v),
                          "problem": "no valuation" if v is None else
                          f"valuation expired on {v['valid_until'].isoformat()}"})
            continue
        value = Decimal(v["value_cny"])
        product = value * rate
        total += product
        lines.append({"application_no": p.application_no, "ip_type": ip_type,
                      "pledge_rate": rate_str(rate), "rate_source": rate_source,
                      "valuation": _valuation_view(v),
                      "value_cny": money_str(value),
                      "cap_cny": money_str(product.quantize(CENT, rounding=ROUND_DOWN))})
    cap = total.quantize(CENT, rounding=ROUND_DOWN)
    basis = {"formula": "cap = Σ (pledge rate × latest valuation value), rounded down to 0.01",
             "bank_code": bank_code, "patents": lines, "cap_cny": money_str(cap),
             "verified": pack.data.pledge_rates.rule.verified,
             "clause": _clause(pack, pack.data.pledge_rates.rule.sources)}
    return CapResult(cap, lines, missing, basis)


def _valuation_view(v: dict[str, Any]) -> dict[str, Any]:
    def iso(x):
        return x.isoformat() if hasattr(x, "isoformat") else x
    return {"valuation_id": v.get("valuation_id"), "value_cny": money_str(Decimal(v["value_cny"])),
            "method": v.get("method"), "valued_on": iso(v.get("valued_on")),
            "valid_until": iso(v.get("valid_until"))}


def cap_check(cap: CapResult, approved: Decimal) -> Check:
    ok = not cap.missing and approved <= cap.cap_cny
    if cap.missing:
        message = (f"patent(s) {', '.join(cap.missing)} have no valuation in force: the pledge "
                   "cap cannot be computed; record a valuation first")
        zh = "质押专利缺少有效评估，无法计算质押率上限"
        rule = "valuation.present"
    else:
        message = (f"approved amount {money_str(approved)} exceeds the pledge cap "
                   f"{money_str(cap.cap_cny)} (Σ pledge rate × valuation)")
        zh = f"批准金额超过质押率上限（{money_str(cap.cap_cny)}元）"
        rule = "amount.within_pledge_cap"
    return Check(rule, ok, message, zh,
                 {"approved_amount_cny": money_str(approved), "cap_cny": money_str(cap.cap_cny),
                  "missing_valuations": cap.missing})


# --- the pool quota -----------------------------------------------------------------------------

def quota_figures(quota: Decimal | None, used: Decimal | None, requested: Decimal) -> dict[str, Any]:
    remaining = None if quota is None else money(quota - (used or Decimal(0)))
    return {"quota_cny": money_str(quota), "used_cny": money_str(used),
            "remaining_cny": money_str(remaining), "requested_cny": money_str(requested)}


def quota_basis(pack: LoanPack, *, year: int, pool_member: bool, figures: dict[str, Any] | None,
                counted: bool) -> dict[str, Any]:
    rule = pack.data.pool_quota
    return {"rule": "pool_quota.within_dedicated_quota", "applies": pool_member, "year": year,
            "counted": counted, "figures": figures or {}, "verified": rule.verified,
            "clause": _clause(pack, rule.sources)}


# --- green channel ------------------------------------------------------------------------------

def green_channel(pack: LoanPack, *, listed: bool, applied_on: date,
                  entry: dict[str, Any] | None) -> tuple[date | None, dict[str, Any]]:
    """(decision deadline or None, basis): whitelisted applicants get applied_on + pack days."""
    rule = pack.data.green_channel
    basis: dict[str, Any] = {
        "rule": "green_channel.whitelisted_applicant", "passed": listed,
        "figures": {"listed": listed, "whitelist_revision": (entry or {}).get("revision"),
                    "tier": ((entry or {}).get("tier") or {}).get("code")},
        "pack": pack_ref(pack), "verified": rule.verified,
        "clause": _clause(pack, rule.sources)}
    if not listed:
        return None, basis
    deadline = applied_on + timedelta(days=rule.decision_days)
    basis["figures"] |= {"applied_on": applied_on.isoformat(),
                         "decision_days": rule.decision_days, "day_kind": rule.day_kind,
                         "deadline": deadline.isoformat()}
    basis["formula"] = "deadline = applied_on + decision_days (calendar days)"
    if rule.note:
        basis["note"] = rule.note
    return deadline, basis


def decided_late(deadline: date | None, decided_on: date) -> bool | None:
    return None if deadline is None else decided_on > deadline


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; a day the target month lacks becomes its last day (a loan
    disbursed on 31 January for one month matures on 28/29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return min(day.replace(year=year, month=month, day=1) + timedelta(days=day.day - 1),
               next_first - timedelta(days=1))
