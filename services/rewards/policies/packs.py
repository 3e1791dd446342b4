"""Rewards policy packs: reward rules as versioned data per jurisdiction.

One YAML file per jurisdiction and period under ``services/rewards/policy_packs/`` (the common
header of :mod:`shared.policy`, then ``data``: governance settings and a list of rules). A new
region's policy is a new file, not code. Each rule names:

- its **trigger**: the event that drafts a claim (``product.recognized`` …) or ``manual`` (filed
  by an enterprise with evidence), where in the event the claimant and the rewarded item are,
  and conditions on the event itself (a GI mark, a qualification kind);
- its **eligibility**: conditions over the claimant's facts (ownership, region, qualifications,
  pool membership) and the item's facts;
- its **amount**: fixed, up to a ceiling, a rate of a figure of the item, or assessed by an
  officer (where the policy text names no figure: nothing is invented);
- its **caps**: per item, per organisation over the pack's life, per organisation per year,
  once per organisation;
- the **fund** it is paid from, the **evidence** a filed claim needs, the owning **department**,
  validity dates, and whether a claim without doubt flags is approved without a meeting.

Every figure is cited (``source``), and a rule whose figure is not in the text says
``verified: false``: such claims always go to a person (doubt flag ``policy.unverified``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.auth import DEPARTMENTS
from shared.policy import PackSet, PolicyPack, PolicyPackError, PolicySource, load_pack

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"

#: Events a rule may be triggered by, with where the claimant, the item, its date and kind are.
TRIGGERS: dict[str, dict[str, str]] = {
    "product.recognized": {"party": "uscc", "item": "product_id", "date": "recognized_on",
                           "kind": "product"},
    "trademark.registered": {"party": "holder_uscc", "item": "reg_no", "date": "registered_on",
                             "kind": "trademark"},
    "qualification.granted": {"party": "uscc", "item": "qualification_id",
                              "date": "valid_from", "kind": "qualification"},
    "license.granted": {"party": "licensee.uscc", "item": "license_id", "date": "starts_on",
                        "kind": "license"},
    "pool.graduated": {"party": "uscc", "item": "uscc", "date": "graduated_on",
                       "kind": "pool_graduation"},
    "patent.status_changed": {"party": "owners.0.uscc", "item": "application_no",
                              "date": "grant_date", "kind": "patent"},
}
TriggerEvent = Literal["product.recognized", "trademark.registered", "qualification.granted",
                       "license.granted", "pool.graduated", "patent.status_changed", "manual"]

Op = Literal["eq", "ne", "in", "not_in", "prefix", "gte", "lte", "contains", "present"]
FACT_ROOTS = ("enterprise.", "item.")


class Condition(BaseModel):
    """One check over a fact: ``enterprise.<field>`` (rewards's projection of the registry:
    ownership, region_code, province_code, industry_code, size_class, founded_on,
    qualifications (active kinds), pool_member) or ``item.<path>`` (the trigger event's data,
    dotted path; for a filed claim, the item as the registry announced it)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_.]+$", description="Stable name of the check in bases")
    fact: str
    op: Op
    value: Any = None
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    source: PolicySource | None = Field(None, description="Clause the check comes from, if "
                                                           "other than the rule's")

    @field_validator("fact")
    @classmethod
    def _fact_root(cls, v: str) -> str:
        if not v.startswith(FACT_ROOTS) or v.endswith("."):
            raise ValueError(f"fact {v!r} must start with one of {', '.join(FACT_ROOTS)}")
        return v

    @model_validator(mode="after")
    def _value_fits_op(self) -> "Condition":
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.code}: op {self.op} needs a list value")
        if self.op == "prefix" and not isinstance(self.value, str):
            raise ValueError(f"{self.code}: op prefix needs a string value")
        if self.op in ("gte", "lte") and not isinstance(self.value, (int, float, str)):
            raise ValueError(f"{self.code}: op {self.op} needs a number or ISO date")
        if self.op != "present" and self.value is None:
            raise ValueError(f"{self.code}: op {self.op} needs a value")
        return self


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: TriggerEvent
    when: list[Condition] = Field(default_factory=list,
                                  description="Conditions on the event itself (item.*) that "
                                              "make it a trigger at all; an event failing them "
                                              "drafts nothing")
    also_filed: bool = Field(True, description="An enterprise may also file a claim for the "
                                               "item with evidence (before the event arrives)")

    @model_validator(mode="after")
    def _when_on_item(self) -> "Trigger":
        bad = [c.code for c in self.when if not c.fact.startswith("item.")]
        if bad:
            raise ValueError(f"trigger.when may test item.* facts only: {', '.join(bad)}")
        return self

    @property
    def paths(self) -> dict[str, str] | None:
        return TRIGGERS.get(self.event)


class Amount(BaseModel):
    """fixed: ``cny``; up_to: at most ``cny`` (a filed claim asks for less; an event-drafted
    one proposes the ceiling); rate: ``rate`` × the item figure at ``base``, within
    ``min_cny``/``max_cny``; assessed: no figure in the text — an officer sets it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["fixed", "up_to", "rate", "assessed"]
    cny: Decimal | None = Field(None, gt=0, decimal_places=2)
    base: str | None = Field(None, description="item.* path of the figure a rate applies to")
    rate: Decimal | None = Field(None, gt=0, le=1)
    min_cny: Decimal | None = Field(None, ge=0, decimal_places=2)
    max_cny: Decimal | None = Field(None, gt=0, decimal_places=2)

    @model_validator(mode="after")
    def _shape(self) -> "Amount":
        need = {"fixed": ("cny",), "up_to": ("cny",), "rate": ("base", "rate"), "assessed": ()}
        missing = [f for f in need[self.kind] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"amount kind {self.kind} needs {', '.join(missing)}")
        if self.kind == "rate" and not str(self.base).startswith("item."):
            raise ValueError("amount.base must be an item.* path")
        if self.kind != "rate" and (self.rate is not None or self.base is not None):
            raise ValueError(f"amount kind {self.kind} takes no rate or base")
        return self


class Caps(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_item_cny: Decimal | None = Field(None, gt=0, decimal_places=2)
    per_org_cny: Decimal | None = Field(None, gt=0, decimal_places=2,
                                        description="Total per organisation under this rule "
                                                    "over the pack's life")
    per_org_per_year_cny: Decimal | None = Field(None, gt=0, decimal_places=2,
                                                 description="Per organisation per calendar "
                                                             "year of the item date")
    once_per_org: bool = Field(False, description="One reward per organisation under the rule")


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name_zh: str
    name_en: str


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_approve: bool = Field(True, description="No doubt flag → approved without a meeting "
                                                 "(不见面审批)")
    reason_zh: str | None = Field(None, description="Why this rule always goes to a person")
    unusual_over_cny: Decimal | None = Field(None, gt=0, decimal_places=2,
                                             description="An amount above this is a doubt flag")


class RewardRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    trigger: Trigger
    eligibility: list[Condition] = Field(default_factory=list)
    amount: Amount
    caps: Caps = Field(default_factory=Caps)
    fund: str = Field(pattern=r"^[a-z0-9-]+$", description="Code of the fund that pays")
    department: str = Field(description="Department that decides claims (review queue owner)")
    evidence: list[Evidence] = Field(default_factory=list,
                                     description="What a filed claim must attach")
    valid_from: date | None = None
    valid_to: date | None = None
    review: Review = Field(default_factory=Review)
    verified: bool = Field(description="false: a figure here is not in the policy text")
    note: str | None = None
    source: PolicySource

    @field_validator("department")
    @classmethod
    def _department(cls, v: str) -> str:
        if v not in DEPARTMENTS:
            raise ValueError(f"unknown department {v!r}")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> "RewardRule":
        a, c = self.amount, self.caps
        if a.kind == "fixed" and c.per_item_cny is not None and a.cny > c.per_item_cny:
            raise ValueError(f"{self.code}: fixed amount {a.cny} is above caps.per_item_cny")
        if self.trigger.event == "manual" and not self.evidence:
            raise ValueError(f"{self.code}: a manual rule must list the evidence it needs")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"{self.code}: valid_to is before valid_from")
        return self

    def in_force(self, on: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= on)
                and (self.valid_to is None or on <= self.valid_to))


class Governance(BaseModel):
    """How claims of this pack are reviewed, held and clawed back."""

    model_config = ConfigDict(extra="forbid")

    review_due_days: int = Field(ge=1, le=120, description="Days the department has to decide")
    new_organisation_days: int = Field(ge=0, description="A claimant founded fewer days before "
                                                         "its first claim is a doubt flag")
    hold_on_flags: list[str] = Field(description="Credit-flag kinds that hold pending claims")
    clawback_on_flags: list[str] = Field(description="Credit-flag kinds that reopen paid "
                                                     "claims for recovery")
    source: PolicySource


class RewardPackData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    governance: Governance
    rules: list[RewardRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> "RewardPackData":
        codes = [r.code for r in self.rules]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"duplicate rule codes: {', '.join(dupes)}")
        return self


RewardPack = PolicyPack[RewardPackData]


@dataclass(frozen=True)
class LoadedPack:
    pack: RewardPack
    sha256: str
    file: str


_LOADED: list[LoadedPack] | None = None


def load(directory: Path = PACK_DIR) -> list[LoadedPack]:
    """Load and validate every rewards pack (a bad one stops the start, named); cached."""
    global _LOADED
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise PolicyPackError(f"no rewards policy pack in {directory}")
    loaded = [LoadedPack(load_pack(f, RewardPackData),
                         hashlib.sha256(f.read_bytes()).hexdigest(), f.name) for f in files]
    PackSet([lp.pack for lp in loaded])  # refuses two packs in force at once per jurisdiction
    ids = [(lp.pack.id, lp.pack.version) for lp in loaded]
    if len(set(ids)) != len(ids):
        raise PolicyPackError("two rewards pack files carry the same id and version")
    _LOADED = loaded
    return loaded


def packs() -> list[LoadedPack]:
    return _LOADED if _LOADED is not None else load()


def covers(jurisdiction: str, region_code: str | None) -> bool:
    """Whether a pack of ``jurisdiction`` (national, or a GB/T 2260 code: 14 Shanxi, 1402
    Datong, 420281 Daye) covers an enterprise registered in ``region_code``."""
    if jurisdiction == "national":
        return True
    return bool(region_code) and region_code.startswith(division_prefix(jurisdiction))


def division_prefix(code: str) -> str:
    """The prefix every region inside a GB/T 2260 division shares: ``14``/``140000`` → ``14``,
    ``1402``/``140200`` → ``1402``, a county ``140110`` → ``140110`` (not ``14011``, which
    would also take in 140111…140119)."""
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def applicable(on: date, region_code: str | None, event: str | None = None
               ) -> list[tuple[RewardPack, RewardRule]]:
    """Rules in force on ``on`` of every pack covering ``region_code`` (national first, then
    the narrower), optionally only those triggered by ``event``."""
    found: list[tuple[RewardPack, RewardRule]] = []
    for lp in sorted(packs(), key=lambda lp: len(division_prefix(lp.pack.jurisdiction))
                     if lp.pack.jurisdiction != "national" else 0):
        pack = lp.pack
        if not pack.in_force(on) or not covers(pack.jurisdiction, region_code):
            continue
        for rule in pack.data.rules:
            if rule.in_force(on) and (event is None or rule.trigger.event == event):
                found.append((pack, rule))
    return found


def find(pack_ref: str, rule_code: str) -> tuple[RewardPack, RewardRule] | None:
    """The rule ``rule_code`` of the pack ``id@vN``."""
    for lp in packs():
        if lp.pack.ref == pack_ref:
            for rule in lp.pack.data.rules:
                if rule.code == rule_code:
                    return lp.pack, rule
    return None


def describe(pack: RewardPack) -> dict[str, Any]:
    """The pack as ``GET /v1/policies`` and ``policy.changed`` show it."""
    return {
        "id": pack.id, "version": pack.version, "ref": pack.ref,
        "jurisdiction": pack.jurisdiction, "title": pack.title,
        "effective_from": pack.effective_from.isoformat(),
        "effective_to": pack.effective_to.isoformat() if pack.effective_to else None,
        "verified": pack.verified, "sources": pack.cite(),
        "governance": pack.data.governance.model_dump(mode="json"),
        "rules": [rule.model_dump(mode="json", exclude_none=True) for rule in pack.data.rules],
    }
