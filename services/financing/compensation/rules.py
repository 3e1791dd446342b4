"""Risk-compensation rules (风险补偿, RULES.md §4.4): pure functions of the facts and the pack.

A compensation rule is an ordered list of ``(party, share)`` summing to exactly 1, caps and
eligibility, all from the fund's policy pack. From a defaulted loan's principal loss:

1. **Eligibility**: the loan is in the fund's jurisdiction; it was on the whitelist at
   application when the pack says so; for a mixed pledge (IP plus other collateral) only the
   IP-secured part of the loss counts (or none, or all, as the pack says).
2. **Covered principal** (caps on the loan, e.g. Guangzhou as reported): only the part of a loan
   up to a per-loan limit is covered, and a borrower's loans count toward a yearly limit in the
   order they were made; the loss is covered pro rata (covered principal / principal).
3. **Split** of the covered loss by the shares: fund, bank, guarantor, insurer, appraiser.
4. **Caps on the fund's payment**: per loan, per borrower per year, and the fund's balance.

Every step is a line of the basis with its figures and clause. Money is CNY yuan, ``Decimal``;
parts are rounded down to the fen (分) and the residue goes to the bank (the lender bears what
no rule assigns), or to the last party listed when the bank has no share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.policy import PolicyPack, PolicySource

CENT = Decimal("0.01")
ONE = Decimal(1)
ZERO = Decimal(0)

Party = Literal["fund", "bank", "guarantor", "insurer", "appraiser"]
PARTY_NAMES_ZH = {"fund": "风险补偿资金", "bank": "贷款银行", "guarantor": "担保机构",
                  "insurer": "保险机构", "appraiser": "评估机构"}
MixedCollateral = Literal["ip_secured_part", "not_covered", "whole_loan"]


def money(value: Decimal | int | str) -> Decimal:
    """CNY yuan with two decimals (half-up, the way amounts are stated)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def floor_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def money_str(value: Decimal | None) -> str | None:
    return None if value is None else f"{money(value):f}"


def fraction_str(value: Decimal) -> str:
    """A share or fraction as a short decimal string ("0.54", "1", "0.666667")."""
    rounded = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
    return f"{rounded:f}"


# --- the pack -----------------------------------------------------------------------------------

class _Figures(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verified: bool
    note: str | None = None
    sources: list[PolicySource] = Field(min_length=1)


class ShareLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party: Party
    share: Decimal = Field(gt=0, le=1, description="fraction of the covered principal loss")


class Split(_Figures):
    """Who bears the covered principal loss, in order (分担比例)."""

    shares: list[ShareLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> "Split":
        parties = [line.party for line in self.shares]
        twice = sorted({p for p in parties if parties.count(p) > 1})
        if twice:
            raise ValueError(f"compensation.shares_party_twice: {', '.join(twice)} listed twice")
        if "fund" not in parties:
            raise ValueError("compensation.shares_no_fund: the fund has no share, so it would "
                             "never pay")
        total = sum((line.share for line in self.shares), ZERO)
        if total != ONE:
            raise ValueError(f"compensation.shares_sum: the shares sum to {total}, not exactly 1")
        return self

    def share_of(self, party: str) -> Decimal:
        return next((line.share for line in self.shares if line.party == party), ZERO)


class Caps(_Figures):
    """Limits, each optional (null: none). Covered-principal caps limit the part of a loan the
    scheme covers; compensation caps limit what the fund pays."""

    covered_principal_per_loan_cny: Decimal | None = Field(None, gt=0, decimal_places=2)
    covered_principal_per_borrower_year_cny: Decimal | None = Field(
        None, gt=0, decimal_places=2,
        description="a borrower's loans (by disbursement year, in the order made) count toward it")
    compensation_per_loan_cny: Decimal | None = Field(None, gt=0, decimal_places=2)
    compensation_per_borrower_year_cny: Decimal | None = Field(
        None, gt=0, decimal_places=2, description="paid by this fund to one borrower per year")


class Eligibility(_Figures):
    mixed_collateral: MixedCollateral = Field(description=(
        "a loan secured by IP and other collateral: ip_secured_part (only the IP-secured share "
        "of the loss counts), not_covered, or whole_loan"))
    whitelisted_at_application: bool = Field(
        description="the borrower must have been on the pledge-financing whitelist when it applied")


class CompensationPackData(BaseModel):
    """The ``data`` section of a compensation-*.yaml pack."""

    model_config = ConfigDict(extra="forbid")

    split: Split
    caps: Caps
    eligibility: Eligibility


CompensationPack = PolicyPack[CompensationPackData]


def pack_ref(pack: CompensationPack) -> str:
    return f"{pack.id}@v{pack.version}"


def _clause(pack: CompensationPack, sources: Sequence[PolicySource]) -> list[dict[str, Any]]:
    ref = pack_ref(pack)
    return [{"pack": ref, "verified": pack.verified, **s.model_dump(exclude_none=True)}
            for s in sources]


# --- the split ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartyAmount:
    party: str
    share: Decimal
    amount_cny: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {"party": self.party, "party_zh": PARTY_NAMES_ZH[self.party],
                "share": fraction_str(self.share), "amount_cny": money_str(self.amount_cny)}


def split_loss(loss: Decimal, split: Split) -> list[PartyAmount]:
    """Each party's part of ``loss``: share × loss rounded down to the fen; the residue (a few
    fen at most) to the bank, or to the last party listed when the bank has no share. The parts
    sum to ``loss`` exactly and the fund never pays more than its share."""
    loss = money(loss)
    parts = [PartyAmount(line.party, line.share, floor_cent(loss * line.share))
             for line in split.shares]
    residue = loss - sum((p.amount_cny for p in parts), ZERO)
    if residue:
        index = next((i for i, p in enumerate(parts) if p.party == "bank"), len(parts) - 1)
        p = parts[index]
        parts[index] = PartyAmount(p.party, p.share, p.amount_cny + residue)
    return parts


# --- a claim ------------------------------------------------------------------------------------

def jurisdiction_prefix(code: str) -> str:
    """The GB/T 2260 prefix a fund covers: 440000 → 44, 440100 → 4401, 442000 → 4420."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


@dataclass(frozen=True)
class ClaimFacts:
    """What the rule needs to know about one claim (loaded by the service)."""

    loan_id: str
    principal_cny: Decimal            # disbursed principal
    principal_loss_cny: Decimal       # claimed by the bank
    ip_secured_cny: Decimal           # the registered pledges' secured amounts
    registered_pledges: int           # pledges registered at CNIPA for the loan
    other_collateral_cny: Decimal     # non-IP collateral the bank declares
    tier_code: str | None
    region_code: str | None
    fund_jurisdiction: str
    disbursed_on: date
    #: principal of the borrower's loans disbursed earlier in the same year, in order
    earlier_principals_cny: tuple[Decimal, ...] = ()
    #: what this fund already paid the borrower this year
    borrower_year_paid_cny: Decimal = ZERO
    fund_balance_cny: Decimal = ZERO
    payment_year: int = 0


@dataclass
class ClaimDecision:
    pack: str
    eligible: bool
    rules: list[dict[str, Any]]
    eligible_loss_cny: Decimal = ZERO
    covered_principal_cny: Decimal = ZERO
    covered_loss_cny: Decimal = ZERO
    parts: list[PartyAmount] = field(default_factory=list)
    fund_share_cny: Decimal = ZERO
    caps: list[dict[str, Any]] = field(default_factory=list)
    claimable_cny: Decimal = ZERO
    payable_cny: Decimal = ZERO
    binding_cap: str | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rules if not r["passed"]]

    def basis(self) -> dict[str, Any]:
        return {
            "pack": self.pack, "eligible": self.eligible, "rules": self.rules,
            "loss": {"eligible_loss_cny": money_str(self.eligible_loss_cny),
                     "covered_principal_cny": money_str(self.covered_principal_cny),
                     "covered_loss_cny": money_str(self.covered_loss_cny)},
            "shares": [p.as_dict() for p in self.parts],
            "fund_share_cny": money_str(self.fund_share_cny),
            "caps": self.caps, "binding_cap": self.binding_cap,
            "claimable_cny": money_str(self.claimable_cny),
            "payable_cny": money_str(self.payable_cny),
            "rounding": "each party's part is rounded down to the fen; the residue goes to the "
                        "bank (or the last party listed when the bank has no share)",
        }


def _line(rule: str, passed: bool, figures: dict[str, Any], clause: list[dict[str, Any]],
          detail: str) -> dict[str, Any]:
    return {"rule": rule, "passed": passed, "detail": detail, "figures": figures,
            "clause": clause}


def _cap(name: str, limit: Decimal | None, before: Decimal, after: Decimal,
         clause: list[dict[str, Any]], **figures: Any) -> dict[str, Any]:
    return {"cap": name, "limit_cny": money_str(limit), "applies": limit is not None,
            "before_cny": money_str(before), "after_cny": money_str(after),
            "bound": after < before, "figures": figures, "clause": clause}


def eligibility(pack: CompensationPack, facts: ClaimFacts) -> tuple[list[dict], Decimal]:
    """The eligibility lines and the fraction of the loss that counts (IP-secured part)."""
    rules = pack.data.eligibility
    clause = _clause(pack, rules.sources)
    lines = []
    prefix = jurisdiction_prefix(facts.fund_jurisdiction)
    inside = bool(facts.region_code) and facts.region_code.startswith(prefix)
    lines.append(_line(
        "loan.within_fund_jurisdiction", inside,
        {"borrower_region_code": facts.region_code, "fund_jurisdiction": facts.fund_jurisdiction},
        _clause(pack, pack.sources),
        f"borrower region {facts.region_code or 'unknown'} "
        f"{'is' if inside else 'is not'} within the fund's jurisdiction {facts.fund_jurisdiction}"))
    lines.append(_line(
        "loan.ip_pledge_registered", facts.registered_pledges > 0,
        {"registered_pledges": facts.registered_pledges}, _clause(pack, pack.sources),
        f"{facts.registered_pledges} patent pledge(s) registered for the loan"
        if facts.registered_pledges else "no patent pledge was registered for the loan"))
    listed = facts.tier_code is not None
    lines.append(_line(
        "borrower.whitelisted_at_application",
        listed or not rules.whitelisted_at_application,
        {"required": rules.whitelisted_at_application, "tier_code": facts.tier_code}, clause,
        ("on the whitelist at application (tier " + facts.tier_code + ")") if listed else
        ("not on the whitelist at application" + ("" if rules.whitelisted_at_application
                                                   else "; not required by this pack"))))
    principal = facts.principal_cny
    ip_secured = min(facts.ip_secured_cny, principal)
    other = facts.other_collateral_cny
    if other <= 0:
        fraction, passed, detail = ONE, True, "pure IP pledge: the whole principal loss counts"
    elif rules.mixed_collateral == "not_covered":
        fraction, passed, detail = ZERO, False, "mixed collateral is not covered by this pack"
    elif rules.mixed_collateral == "whole_loan":
        fraction, passed, detail = ONE, True, "mixed collateral: the whole loss counts (pack)"
    else:
        fraction = ip_secured / (ip_secured + other) if ip_secured > 0 else ZERO
        passed = fraction > 0
        detail = (f"mixed collateral: only the IP-secured part counts, {money_str(ip_secured)} "
                  f"of {money_str(ip_secured + other)} secured")
    lines.append(_line(
        f"collateral.{'pure_ip' if other <= 0 else rules.mixed_collateral}", passed,
        {"principal_cny": money_str(principal), "ip_secured_cny": money_str(ip_secured),
         "other_collateral_cny": money_str(other), "ip_fraction": fraction_str(fraction)},
        clause, detail))
    return lines, fraction


def decide(pack: CompensationPack, facts: ClaimFacts) -> ClaimDecision:
    """The whole computation: eligibility, covered principal, split, caps, fund balance."""
    lines, fraction = eligibility(pack, facts)
    decision = ClaimDecision(pack=pack_ref(pack), eligible=all(r["passed"] for r in lines),
                             rules=lines)
    if not decision.eligible:
        return decision
    caps = pack.data.caps
    clause = _clause(pack, caps.sources)
    loss, principal = money(facts.principal_loss_cny), money(facts.principal_cny)
    decision.eligible_loss_cny = eligible = floor_cent(loss * fraction)

    # Covered principal: per loan, then the borrower's yearly room in the order loans were made.
    covered = principal
    per_loan = caps.covered_principal_per_loan_cny
    after = min(covered, per_loan) if per_loan is not None else covered
    decision.caps.append(_cap("covered_principal_per_loan", per_loan, covered, after, clause,
                              principal_cny=money_str(principal)))
    covered = after
    per_year = caps.covered_principal_per_borrower_year_cny
    earlier = sum((min(p, per_loan) if per_loan is not None else p
                   for p in facts.earlier_principals_cny), ZERO)
    room = max(ZERO, per_year - earlier) if per_year is not None else covered
    after = min(covered, room)
    decision.caps.append(_cap(
        "covered_principal_per_borrower_year", per_year, covered, after, clause,
        year=facts.disbursed_on.year, earlier_loans=len(facts.earlier_principals_cny),
        earlier_covered_cny=money_str(earlier)))
    decision.covered_principal_cny = covered = after
    decision.covered_loss_cny = covered_loss = (
        floor_cent(eligible * covered / principal) if principal > 0 else ZERO)

    decision.parts = split_loss(covered_loss, pack.data.split)
    fund = next(p.amount_cny for p in decision.parts if p.party == "fund")
    decision.fund_share_cny = amount = fund

    # Caps on the fund's payment, then its balance.
    per_loan_pay = caps.compensation_per_loan_cny
    after = min(amount, per_loan_pay) if per_loan_pay is not None else amount
    decision.caps.append(_cap("compensation_per_loan", per_loan_pay, amount, after, clause))
    amount = after
    per_year_pay = caps.compensation_per_borrower_year_cny
    room = (max(ZERO, per_year_pay - facts.borrower_year_paid_cny)
            if per_year_pay is not None else amount)
    after = min(amount, room)
    decision.caps.append(_cap("compensation_per_borrower_year", per_year_pay, amount, after,
                              clause, year=facts.payment_year,
                              paid_this_year_cny=money_str(facts.borrower_year_paid_cny)))
    decision.claimable_cny = amount = after
    balance = max(ZERO, facts.fund_balance_cny)
    after = min(amount, balance)
    decision.caps.append(_cap("fund_balance", balance, amount, after,
                              _clause(pack, pack.data.split.sources),
                              balance_cny=money_str(balance)))
    decision.payable_cny = after
    bound = [c["cap"] for c in decision.caps if c["bound"]]
    decision.binding_cap = bound[-1] if bound else None
    return decision
