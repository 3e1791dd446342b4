"""The event catalogue: every topic and event type, with its versioned JSON Schema.

This module is the contract integrators code against. Topic names and event type names never
change; a breaking payload change is a new schema version (``v2``) published beside the old one.
``docs/asyncapi.yaml`` is generated from here (``python -m shared.cli asyncapi``) and a test keeps
it current.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_BASE_URI = "urn:ipbridge:schema:"


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    description: str
    #: Log-compacted topics keep the latest snapshot per key (the whitelist).
    compacted: bool = False


@dataclass(frozen=True)
class EventType:
    type: str
    version: int
    topic: str
    description: str

    @property
    def schema_file(self) -> Path:
        return SCHEMA_DIR / f"{self.type}.v{self.version}.json"

    @property
    def dataschema(self) -> str:
        return f"{SCHEMA_BASE_URI}{self.type}:v{self.version}"

    @property
    def source(self) -> str:
        return f"/ipbridge/{TOPICS[self.topic].owner}"


TOPICS: dict[str, Topic] = {t.name: t for t in (
    Topic("registry.enterprise.v1", "registry",
          "Enterprises, qualifications, credit flags and cultivation-pool membership. Key: USCC."),
    Topic("registry.ip.v1", "registry",
          "Patents, trademarks, patent-intensive products. Key: the owner's USCC."),
    Topic("financing.whitelist.v1", "financing",
          "Pledge-financing whitelist as full snapshots; log-compacted by USCC.", compacted=True),
    Topic("financing.loan.v1", "financing",
          "Valuations, loans, pledges, risk compensation and the equity track. "
          "Key: the borrower's (or patent owner's) USCC."),
    Topic("matching.license.v1", "matching",
          "Open licenses, demands, matches and license grants. Key: the USCC of the enterprise "
          "the event concerns: the patentee (declarations, licences), the demander (demands), the "
          "enterprise pushed to (pushes)."),
    Topic("rewards.v1", "rewards", "Reward claims and their lifecycle (key: the claimant's USCC), "
          "and policy pack changes (key: the pack id)."),
)}


CATALOGUE: dict[str, EventType] = {e.type: e for e in (
    EventType("enterprise.registered", 1, "registry.enterprise.v1",
              "The market regulation bureau registered an enterprise in the registry."),
    EventType("enterprise.updated", 1, "registry.enterprise.v1",
              "An enterprise's registered facts changed; the payload is the full new state."),
    EventType("qualification.granted", 1, "registry.enterprise.v1",
              "An issuing department granted a qualification (专精特新, 小巨人, 高新技术 …)."),
    EventType("qualification.renewed", 1, "registry.enterprise.v1",
              "A qualification passed review (复核) and its validity was extended."),
    EventType("qualification.revoked", 1, "registry.enterprise.v1",
              "The issuing department revoked a qualification; the reason is carried."),
    EventType("qualification.expired", 1, "registry.enterprise.v1",
              "A qualification reached the end of its validity (detected by the daily sweep)."),
    EventType("creditflag.raised", 1, "registry.enterprise.v1",
              "The credit department flagged an enterprise (serious dishonesty, tax evasion …)."),
    EventType("creditflag.cleared", 1, "registry.enterprise.v1",
              "A credit flag was cleared."),
    EventType("patent.registered", 1, "registry.ip.v1",
              "A patent was registered with its owners, status and high-value assessment."),
    EventType("patent.updated", 1, "registry.ip.v1",
              "A patent's facts changed (fees, family, awards, encumbrances, high-value flag); "
              "the payload is the full new state."),
    EventType("patent.status_changed", 1, "registry.ip.v1",
              "A patent's legal status changed (granted, lapsed, invalidated, expired)."),
    EventType("trademark.registered", 1, "registry.ip.v1",
              "A trademark (or geographical-indication mark) was registered."),
    EventType("product.filed", 1, "registry.ip.v1",
              "An enterprise filed a patent-intensive product (专利密集型产品) for recognition."),
    EventType("product.recognized", 1, "registry.ip.v1",
              "The IP office recognised a patent-intensive product."),
    EventType("product.rejected", 1, "registry.ip.v1",
              "The IP office rejected a patent-intensive product filing, with the reason."),
    EventType("pool.admitted", 1, "registry.enterprise.v1",
              "The provincial IP office admitted an enterprise to the patent-industrialisation "
              "model-enterprise cultivation pool (样板企业培育库)."),
    EventType("pool.graduated", 1, "registry.enterprise.v1",
              "A pool enterprise graduated (出库) and continues as follow-up cultivation."),
    EventType("pool.removed", 1, "registry.enterprise.v1",
              "A pool enterprise was removed (退库), with the reason."),
    EventType("whitelist.entry_added", 1, "financing.whitelist.v1",
              "An enterprise entered the pledge-financing whitelist; the payload is the full "
              "entry (tier, basis, pledgeable patents with their latest valuation)."),
    EventType("whitelist.entry_updated", 1, "financing.whitelist.v1",
              "A whitelisted enterprise's entry changed (tier, patents, valuations); full entry."),
    EventType("whitelist.entry_removed", 1, "financing.whitelist.v1",
              "An enterprise left the whitelist; the payload carries the failed rules."),
    EventType("valuation.completed", 1, "financing.loan.v1",
              "A patent valuation (GB/T 42748-2023 approach) was completed, or a bank recorded "
              "its internal valuation beside it."),
    EventType("loan.applied", 1, "financing.loan.v1",
              "An enterprise applied to a bank for a patent-pledge loan."),
    EventType("loan.approved", 1, "financing.loan.v1",
              "The lending bank approved a pledge loan, with the cap and its basis."),
    EventType("loan.rejected", 1, "financing.loan.v1",
              "The lending bank rejected a pledge loan application, with the reason."),
    EventType("loan.disbursed", 1, "financing.loan.v1", "The bank disbursed a pledge loan."),
    EventType("loan.repaid", 1, "financing.loan.v1",
              "A pledge loan was repaid in full; its pledges are released."),
    EventType("loan.overdue", 1, "financing.loan.v1", "A pledge loan is overdue."),
    EventType("loan.defaulted", 1, "financing.loan.v1",
              "A pledge loan defaulted; a risk-compensation claim follows."),
    EventType("loan.compensated", 1, "financing.loan.v1",
              "The risk-compensation fund paid its share of a defaulted loan's loss."),
    EventType("loan.closed", 1, "financing.loan.v1", "A pledge loan was closed."),
    EventType("pledge.registered", 1, "financing.loan.v1",
              "A patent pledge was registered (CNIPA, Rule 15) for a loan."),
    EventType("pledge.released", 1, "financing.loan.v1",
              "A registered patent pledge was released (repayment, or closing after "
              "compensation); pledges only reserved by an application produce no event."),
    EventType("compensation.paid", 1, "financing.loan.v1",
              "The risk-compensation fund paid its share of a defaulted loan's principal loss."),
    EventType("equity.listed", 1, "financing.loan.v1",
              "An enterprise registered (挂牌) on a regional equity market."),
    EventType("equity.investment_recorded", 1, "financing.loan.v1",
              "A guidance-fund investment (equity, preferred shares, 科技成果+认股权) was recorded."),
    EventType("equity.checklist_updated", 1, "financing.loan.v1",
              "An enterprise's pre-IPO IP compliance checklist changed."),
    EventType("license.granted", 1, "matching.license.v1",
              "A patent licence was granted (open licence taken, or a negotiated exclusive / "
              "sole / ordinary licence recorded), with its fee terms."),
    EventType("openlicense.published", 1, "matching.license.v1",
              "The IP office published an open-licence declaration (专利开放许可, Art 50) with its "
              "fee terms; anyone may take it by written notice and payment."),
    EventType("openlicense.withdrawn", 1, "matching.license.v1",
              "The patentee withdrew an open licence; licences already granted stay valid."),
    EventType("openlicense.suspended", 1, "matching.license.v1",
              "A published open licence can no longer be taken: its patent lapsed or meets a "
              "Rule 86 bar (pledged without consent, exclusive licence, suspension)."),
    EventType("openlicense.reinstated", 1, "matching.license.v1",
              "A suspended open licence can be taken again (the bar was lifted)."),
    EventType("demand.posted", 1, "matching.license.v1",
              "An enterprise posted a technology demand (技术需求库)."),
    EventType("demand.updated", 1, "matching.license.v1",
              "An enterprise edited an open technology demand; full new state."),
    EventType("demand.closed", 1, "matching.license.v1",
              "A technology demand was closed (fulfilled, withdrawn or expired)."),
    EventType("match.pushed", 1, "matching.license.v1",
              "An open-licence patent was pushed to an enterprise (精准推送), with the score "
              "components that explain why."),
    EventType("claim.created", 1, "rewards.v1",
              "A reward claim was drafted from another department's event, or filed by an "
              "enterprise with evidence, and checked; its status says what the checks decided."),
    EventType("claim.review_requested", 1, "rewards.v1",
              "A claim that waited for the claimant's facts was checked and went to the "
              "deciding department's review queue, with its doubt flags and due date."),
    EventType("claim.approved", 1, "rewards.v1",
              "A reward claim was approved: without a meeting (不见面审批, no doubt flag) or by "
              "the owning department's officer, with who and why."),
    EventType("claim.rejected", 1, "rewards.v1",
              "A reward claim was rejected: ineligible or over a cap (automatically, the basis "
              "says which), or by an officer with the reason."),
    EventType("claim.held", 1, "rewards.v1",
              "A pending reward claim was held: the claimant has an active credit flag."),
    EventType("claim.released", 1, "rewards.v1",
              "A held reward claim resumed its course: the flag was cleared."),
    EventType("claim.paid", 1, "rewards.v1",
              "A fund paid an approved reward claim; the ledger entry is named."),
    EventType("claim.clawed_back", 1, "rewards.v1",
              "A paid reward claim was reopened for recovery (data fraud or abnormal patent "
              "application flagged on the claimant)."),
    EventType("claim.recovered", 1, "rewards.v1",
              "Recovery of a paid reward claim was closed: money returned to the fund, or "
              "waived with a recorded reason."),
    EventType("policy.changed", 1, "rewards.v1",
              "A rewards policy pack was added, or replaced by a new version; the payload lists "
              "its rules with their amounts, caps and clauses. Key: the pack id."),
)}


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def event_type(name: str) -> EventType:
    try:
        return CATALOGUE[name]
    except KeyError as exc:
        raise KeyError(f"event type {name!r} is not in the catalogue") from exc


@cache
def load_schema(name: str, version: int) -> dict[str, Any]:
    path = SCHEMA_DIR / f"{name}.v{version}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator(name: str, version: int) -> Draft202012Validator:
    schema = load_schema(name, version)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


class SchemaViolation(ValueError):
    """An event payload does not match its schema; ``path`` names the field."""

    def __init__(self, event: str, path: str, message: str) -> None:
        super().__init__(f"{event}: {path or '(root)'}: {message}")
        self.path = path


@cache
def _fast_validator(name: str, version: int):
    """The same schema compiled by jsonschema-rs (Rust): a valid payload — the common case on
    every produce and consume — is checked in a fraction of the pure-Python time."""
    _validator(name, version)  # the schema itself is checked once, by the reference validator
    return jsonschema_rs.validator_for(load_schema(name, version), validate_formats=True)


def validate_payload(name: str, data: dict[str, Any], version: int | None = None) -> None:
    """Validate one payload against its JSON Schema (on produce and on consume)."""
    etype = event_type(name)
    version = version or etype.version
    fast = _fast_validator(name, version)
    if fast.is_valid(data):
        return
    # Invalid: the reference validator names the first offending field (stable messages).
    validator = _validator(name, version)
    error: ValidationError | None = next(iter(sorted(validator.iter_errors(data),
                                                      key=lambda e: [str(p) for p in e.path])),
                                         None)
    if error is not None:
        raise SchemaViolation(name, ".".join(str(p) for p in error.absolute_path), error.message)
    rs_error = next(iter(fast.iter_errors(data)))
    raise SchemaViolation(name, ".".join(str(p) for p in rs_error.instance_path),
                          rs_error.message)


def version_of(dataschema: str, name: str) -> int:
    """The schema version named by a ``ce_dataschema`` (``urn:ipbridge:schema:<type>:v<N>``)."""
    prefix = f"{SCHEMA_BASE_URI}{name}:v"
    suffix = dataschema[len(prefix):]
    # isascii(): str.isdigit() also accepts '²' or '١', which int() rejects or misreads; the
    # header comes from any producer and must end as a SchemaViolation (dead letter).
    if not dataschema.startswith(prefix) or not (suffix.isascii() and suffix.isdigit()):
        raise SchemaViolation(name, "ce_dataschema",
                              f"{dataschema!r} is not a schema of this type ({prefix}<N>)")
    version = int(suffix)
    if not (SCHEMA_DIR / f"{name}.v{version}.json").exists():
        raise SchemaViolation(name, "ce_dataschema", f"unknown schema version v{version}")
    return version
