"""Qualification rules: grant, renew, revoke, list, and the expiry sweep; every change emits.

No FastAPI, no Kafka, no commit in the request paths: the edge owns the transaction. The sweep
is the exception by design — it is a periodic job, the edge of its own transaction.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.db import KERNEL
from services.registry.qualifications import events, repository
from services.registry.qualifications.exceptions import (CertificateAlreadyRecorded,
                                                         EnterpriseNotFound, InvalidInput,
                                                         NotIssuingDepartment,
                                                         QualificationAlreadyHeld,
                                                         QualificationNotActive,
                                                         QualificationNotFound)
from services.registry.qualifications.models import Qualification
from services.registry.qualifications.rules import (QualificationKind, QualificationPack,
                                                    QualificationPackData, QualificationStatus,
                                                    decide_level, decide_period,
                                                    issuing_body_for, kind_sources, pack_ref)
from services.registry.qualifications.schemas import (QualificationCreate, QualificationRenewal,
                                                      QualificationRevocation)
from shared.app import PeriodicTask
from shared.auth import Principal
from shared.db import today_cn, utcnow
from shared.outbox import emit
from shared.policy import PackSet, PolicyPackError, load_pack

log = structlog.get_logger("registry.qualifications")

PACK_DIR = Path(__file__).resolve().parent.parent / "policy_packs"
PACK_PATTERN = "qualifications-*.yaml"
CERTIFICATE_MAX = 64  # the column's length


@cache
def load_packs(directory: Path = PACK_DIR) -> PackSet[QualificationPackData]:
    """All qualification packs, validated; a bad or overlapping pack raises PolicyPackError."""
    files = sorted(directory.glob(PACK_PATTERN))
    if not files:
        raise PolicyPackError(f"no {PACK_PATTERN} policy pack in {directory}")
    loaded = [(path, load_pack(path, QualificationPackData)) for path in files]
    for i, (path_a, a) in enumerate(loaded):
        for path_b, b in loaded[i + 1:]:
            if a.jurisdiction != b.jurisdiction:
                continue
            a_end, b_end = a.effective_to or date.max, b.effective_to or date.max
            if a.effective_from <= b_end and b.effective_from <= a_end:
                raise PolicyPackError(f"{path_b.name}: effective {b.effective_from}..{b_end} "
                                      f"overlaps {path_a.name} ({a.effective_from}..{a_end}); "
                                      "the pack in force on a date must be unambiguous")
    return PackSet([pack for _, pack in loaded])


def pack_on(day: date, field: str = "valid_from") -> QualificationPack:
    """The pack in force on ``day``, or 422 naming the date field that chose it."""
    return load_packs().for_date(day, field=field, subject="qualification",
                                 subject_zh="资格")


def normalise_certificate(raw: str) -> str:
    """NFKC (full-width → ASCII), trim, upper-case: 'ｇｒ２０２３…' and 'GR2023…' are one number."""
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    if not text or any(unicodedata.category(c).startswith("C") for c in text):
        raise InvalidInput("certificate_no", "certificate_no.printable",
                           "a certificate number has printable characters only",
                           message_zh="证书编号含有不可打印字符")
    if len(text) > CERTIFICATE_MAX:  # NFKC can expand a character (㍿ → 株式会社)
        raise InvalidInput("certificate_no", "certificate_no.length",
                           f"at most {CERTIFICATE_MAX} characters after normalisation",
                           message_zh=f"证书编号不能超过{CERTIFICATE_MAX}个字符")
    return text


def ensure_issuer(department: str, name_zh: str, kind: QualificationKind, caller: Principal,
                  action: str) -> dict[str, Any]:
    """403 unless the caller is the department that issues this kind; returns the check."""
    if caller.department != department:
        raise NotIssuingDepartment(
            f"only department {department!r} may {action} {kind.value} ({name_zh}); the caller "
            f"is {caller.department!r}",
            detail_zh=f"{name_zh}只能由发证部门（{department}）办理",
            allowed_department=department, required_departments=[department])
    return {"required": department, "caller": caller.department, "passed": True}


def _decision_basis(pack: QualificationPack, kind: QualificationKind, chosen_by: str,
                    **parts: Any) -> dict[str, Any]:
    rule = pack.data.kinds[kind]
    basis = {
        "kind": {"value": kind.value, "name_zh": rule.name_zh, "name_en": rule.name_en},
        "pack": pack_ref(pack), "pack_chosen_by": chosen_by,
        **parts,
        "verified": rule.verified, "sources": kind_sources(pack, kind),
    }
    if rule.note:
        basis["note"] = rule.note
    return basis


async def _enterprise_or_404(session: AsyncSession, uscc: str) -> None:
    if not await repository.enterprise_exists(session, uscc):
        raise EnterpriseNotFound(f"no enterprise with USCC {uscc}", detail_zh="未找到该企业",
                                 uscc=uscc)


async def _ensure_unique_certificate(session: AsyncSession, kind: QualificationKind,
                                     certificate_no: str, own_id: str | None = None) -> None:
    existing = await repository.by_certificate(session, kind.value, certificate_no)
    if existing is not None and existing.id != own_id:
        raise CertificateAlreadyRecorded(
            f"certificate {certificate_no} of kind {kind.value} is already recorded",
            detail_zh="该类资格的证书编号已登记", certificate_no=certificate_no, kind=kind.value)


async def _ensure_not_held(session: AsyncSession, uscc: str, kind: QualificationKind, level: str,
                           valid_from: date, valid_to: date, own_id: str | None = None) -> None:
    """409 when another active qualification of the kind and level overlaps the period."""
    held = await repository.overlapping_active(session, uscc=uscc, kind=kind.value, level=level,
                                               valid_from=valid_from, valid_to=valid_to,
                                               exclude_id=own_id)
    if held is not None:
        raise QualificationAlreadyHeld(
            f"enterprise {uscc} already holds an active {level} {kind.value} "
            f"({held.valid_from.isoformat()}..{held.valid_to.isoformat()}); renew it instead",
            detail_zh="该企业已持有同级别、有效期重叠的同类资格，请办理复核续期",
            qualification_id=held.id)


async def grant(session: AsyncSession, uscc: str, data: QualificationCreate, caller: Principal,
                *, today: date | None = None) -> Qualification:
    """Grant a qualification by the issuing department; emits ``qualification.granted``."""
    today = today or today_cn()
    uscc = uscc.upper()
    valid_from = data.valid_from or today
    pack = pack_on(valid_from)
    rule = pack.data.kinds[data.kind]
    department = ensure_issuer(rule.issuing_department, rule.name_zh, data.kind, caller, "grant")
    await _enterprise_or_404(session, uscc)
    certificate_no = normalise_certificate(data.certificate_no)
    level, level_basis = decide_level(rule, data.kind, data.level)
    issuing_body, body_source = issuing_body_for(rule, level, data.issuing_body)
    period = decide_period(pack, data.kind, valid_from, data.valid_to, today)
    await _ensure_unique_certificate(session, data.kind, certificate_no)
    await _ensure_not_held(session, uscc, data.kind, level.value, period.valid_from,
                           period.valid_to)
    basis = _decision_basis(
        pack, data.kind, f"in force on valid_from {valid_from.isoformat()}",
        decision="grant", issuing_department=department, level=level_basis,
        issuing_body={"value": issuing_body, "source": body_source}, validity=period.basis)
    now = utcnow()
    qualification = Qualification(
        id=str(uuid.uuid4()), uscc=uscc, kind=data.kind.value, level=level.value,
        issuing_department=rule.issuing_department, issuing_body=issuing_body,
        certificate_no=certificate_no, valid_from=period.valid_from, valid_to=period.valid_to,
        status=QualificationStatus.active.value,
        basis=json.dumps(basis, ensure_ascii=False), renewal_count=0, revision=1,
        granted_by=caller.subject, created_at=now, updated_at=now)
    repository.add(session, qualification)
    await session.flush()
    await emit(session, KERNEL.outbox, "qualification.granted", key=uscc, subject=uscc,
               data=events.granted(qualification, now))
    log.info("registry.qualification.granted", uscc=uscc, kind=data.kind.value,
             qualification_id=qualification.id, valid_to=period.valid_to.isoformat(),
             pack=pack.id)
    return qualification


async def get_or_404(session: AsyncSession, uscc: str, qualification_id: str, *,
                     for_update: bool = False) -> Qualification:
    """The enterprise's qualification (404 for an unknown enterprise or another's id)."""
    uscc = uscc.upper()
    qualification = await repository.get(session, qualification_id, for_update=for_update)
    if qualification is None or qualification.uscc != uscc:
        await _enterprise_or_404(session, uscc)
        raise QualificationNotFound(f"enterprise {uscc} has no qualification {qualification_id}",
                                    detail_zh="未找到该资格记录")
    return qualification


def _ensure_active(q: Qualification, today: date, action: str) -> None:
    """409 for a revoked or expired qualification (expired by date even before the sweep ran)."""
    if q.status != QualificationStatus.active.value:
        raise QualificationNotActive(f"qualification {q.id} is {q.status}; cannot {action}",
                                     detail_zh="该资格已撤销或已过期", status_now=q.status)
    if q.valid_to < today:
        raise QualificationNotActive(
            f"qualification {q.id} expired after {q.valid_to.isoformat()}; cannot {action}",
            detail_zh="该资格已过有效期", status_now=QualificationStatus.expired.value)


async def renew(session: AsyncSession, q: Qualification, data: QualificationRenewal,
                caller: Principal, *, today: date | None = None) -> Qualification:
    """Record a passed review (复核): extend validity per the pack in force on the new start.

    Allowed for an active or expired qualification (the review often ends after expiry), not
    for a revoked one. Emits ``qualification.renewed``.
    """
    today = today or today_cn()
    kind = QualificationKind(q.kind)
    name_zh = _current(q)["kind"]["name_zh"]
    ensure_issuer(q.issuing_department, name_zh, kind, caller, "renew")
    if q.status == QualificationStatus.revoked.value:
        raise QualificationNotActive(f"qualification {q.id} was revoked; it cannot be renewed",
                                     detail_zh="已撤销的资格不能复核续期", status_now=q.status)
    new_from = data.valid_from or (q.valid_to + timedelta(days=1))
    pack = pack_on(new_from)
    rule = pack.data.kinds[kind]
    # The new period is decided under this pack, including who issues the kind.
    department = ensure_issuer(rule.issuing_department, rule.name_zh, kind, caller, "renew")
    if not rule.renewable:
        raise InvalidInput("kind", "kind.not_renewable",
                           f"{kind.value} ({rule.name_zh}) is not renewed by review under "
                           f"{pack.id}@v{pack.version}: grant a new qualification",
                           message_zh=f"{rule.name_zh}不适用复核续期，请重新认定",
                           pack=pack.id)
    if new_from <= q.valid_from:
        raise InvalidInput("valid_from", "valid_from.after_current_start",
                           f"the renewed period must start after the current one "
                           f"({q.valid_from.isoformat()})", message_zh="续期起始日应晚于当前起始日")
    period = decide_period(pack, kind, new_from, data.valid_to, today)
    if period.valid_to <= q.valid_to:
        raise InvalidInput("valid_to", "valid_to.extends_current",
                           f"a renewal must extend validity beyond {q.valid_to.isoformat()}",
                           message_zh="续期后的有效期应晚于当前截止日")
    await _ensure_not_held(session, q.uscc, kind, q.level, period.valid_from, period.valid_to,
                           own_id=q.id)
    previous = {"valid_from": q.valid_from.isoformat(), "valid_to": q.valid_to.isoformat(),
                "certificate_no": q.certificate_no, "status": q.status}
    if data.certificate_no is not None:
        certificate_no = normalise_certificate(data.certificate_no)
        await _ensure_unique_certificate(session, kind, certificate_no, own_id=q.id)
        q.certificate_no = certificate_no
    basis = json.loads(q.basis)
    basis.setdefault("renewals", []).append(_decision_basis(
        pack, kind, f"in force on the renewed valid_from {new_from.isoformat()}",
        decision="renewal", issuing_department=department, previous=previous,
        validity=period.basis, renewed_by=caller.subject))
    now = utcnow()
    q.valid_from, q.valid_to = period.valid_from, period.valid_to
    q.issuing_department = rule.issuing_department
    q.status = QualificationStatus.active.value
    q.expired_on = None
    q.renewal_count += 1
    q.revision += 1
    q.basis = json.dumps(basis, ensure_ascii=False)
    q.updated_at = now
    await session.flush()
    await emit(session, KERNEL.outbox, "qualification.renewed", key=q.uscc, subject=q.uscc,
               data=events.renewed(q, previous, now))
    log.info("registry.qualification.renewed", uscc=q.uscc, qualification_id=q.id,
             valid_to=q.valid_to.isoformat(), pack=pack.id)
    return q


async def revoke(session: AsyncSession, q: Qualification, data: QualificationRevocation,
                 caller: Principal, *, today: date | None = None) -> Qualification:
    """Revoke by the issuing department with a reason; emits ``qualification.revoked``."""
    today = today or today_cn()
    kind = QualificationKind(q.kind)
    ensure_issuer(q.issuing_department, _current(q)["kind"]["name_zh"], kind, caller, "revoke")
    _ensure_active(q, today, "revoke")
    revoked_on = data.revoked_on or today
    if revoked_on > today:
        raise InvalidInput("revoked_on", "revoked_on.not_in_future",
                           f"revoked_on {revoked_on.isoformat()} is after today "
                           f"({today.isoformat()})", message_zh="撤销日期不能晚于今天")
    now = utcnow()
    q.status = QualificationStatus.revoked.value
    q.revoked_on = revoked_on
    q.revocation_reason = data.reason
    q.revoked_by = caller.subject
    q.revision += 1
    q.updated_at = now
    await session.flush()
    await emit(session, KERNEL.outbox, "qualification.revoked", key=q.uscc, subject=q.uscc,
               data=events.revoked(q, now))
    log.info("registry.qualification.revoked", uscc=q.uscc, qualification_id=q.id)
    return q


async def list_for_enterprise(session: AsyncSession, uscc: str,
                              status: QualificationStatus | None = None) -> list[Qualification]:
    uscc = uscc.upper()
    await _enterprise_or_404(session, uscc)
    return await repository.list_for(session, uscc, status.value if status else None)


def _current(q: Qualification) -> dict[str, Any]:
    """The basis of the decision behind the current period (the grant or the last renewal)."""
    basis = json.loads(q.basis)
    return (basis.get("renewals") or [basis])[-1]


def read_model(q: Qualification, today: date | None = None) -> dict[str, Any]:
    """The API view of a qualification (router and idempotency store)."""
    today = today or today_cn()
    basis = json.loads(q.basis)
    current = (basis.get("renewals") or [basis])[-1]  # as _current, without parsing twice
    return {
        "id": q.id, "uscc": q.uscc, "kind": q.kind,
        "kind_name_zh": current["kind"]["name_zh"], "kind_name_en": current["kind"]["name_en"],
        "level": q.level, "issuing_department": q.issuing_department,
        "issuing_body": q.issuing_body, "certificate_no": q.certificate_no,
        "valid_from": q.valid_from, "valid_to": q.valid_to, "status": q.status,
        "in_force": (q.status == QualificationStatus.active.value
                     and q.valid_from <= today <= q.valid_to),
        "renewal_count": q.renewal_count, "revoked_on": q.revoked_on,
        "revocation_reason": q.revocation_reason, "expired_on": q.expired_on, "basis": basis,
        "revision": q.revision, "granted_by": q.granted_by, "created_at": q.created_at,
        "updated_at": q.updated_at,
    }


async def summary_for(session: AsyncSession, uscc: str, today: date | None = None
                      ) -> list[dict[str, Any]]:
    """The qualifications in force today, compact, for embedding in the enterprise record."""
    today = today or today_cn()
    rows = await repository.list_for(session, uscc.upper(), QualificationStatus.active.value)
    return [{"id": q.id, "kind": q.kind, "kind_name_zh": _current(q)["kind"]["name_zh"],
             "level": q.level, "issuing_body": q.issuing_body,
             "certificate_no": q.certificate_no, "valid_from": q.valid_from,
             "valid_to": q.valid_to}
            for q in rows if q.valid_from <= today <= q.valid_to]


async def sweep_expired(sessionmaker: async_sessionmaker[AsyncSession], today: date) -> int:
    """Mark every active qualification whose validity ended before ``today`` as expired.

    Own transaction; idempotent across runs and replicas: the conditional UPDATE returns only
    the rows it changed, and ``qualification.expired`` is emitted for exactly those, in the same
    transaction. Returns how many expired.
    """
    async with sessionmaker() as session, session.begin():
        now = utcnow()
        expired = await repository.mark_expired(session, today, now)
        for q in expired:
            await emit(session, KERNEL.outbox, "qualification.expired", key=q.uscc,
                       subject=q.uscc, data=events.expired(q, now))
    if expired:
        log.info("registry.qualification.expired", count=len(expired), today=today.isoformat(),
                 ids=[q.id for q in expired][:50])
    return len(expired)


PERIODIC_TASKS = [PeriodicTask("qualification-expiry-sweep", 3600,
                               lambda sm: sweep_expired(sm, today_cn()))]
