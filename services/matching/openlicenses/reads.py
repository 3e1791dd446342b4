"""Reading declarations: who sees which (announced ones are public; declared and refused ones,
and those withdrawn before publication, only for their patentee and the regulators), filters, keyset pages, licence counts, the shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.licenses.models import License
from services.matching.openlicenses import rules as R
from services.matching.openlicenses.codes import canonical_application_no, search_prefix
from services.matching.openlicenses.exceptions import OpenLicenseNotFound
from services.matching.openlicenses.models import OpenLicense
from shared.auth import Principal
from shared.pagination import newest_first

READ_ALL = ("market_regulation", "auditor")


def is_public(row: OpenLicense) -> bool:
    """Public once announced: it has a publication date (published, suspended, or withdrawn
    after publication). A declaration withdrawn before publication never was public."""
    return row.published_on is not None


def ensure_can_read(row: OpenLicense, caller: Principal) -> None:
    if (is_public(row) or caller.department in READ_ALL
            or (caller.org and caller.org.upper() == row.patentee_uscc)):
        return
    raise OpenLicenseNotFound(f"no open-licence declaration {row.id}",
                              detail_zh="开放许可声明不存在")


async def licence_counts(session: AsyncSession, ids: list[str], on: date
                         ) -> dict[str, tuple[int, int]]:
    """open_license_id → (licences granted, of which still running on ``on``)."""
    if not ids:
        return {}
    running = sa.case((sa.or_(License.ends_on.is_(None), License.ends_on >= on), 1), else_=0)
    rows = (await session.execute(
        sa.select(License.open_license_id, sa.func.count(), sa.func.sum(running))
        .where(License.open_license_id.in_(ids)).group_by(License.open_license_id))).all()
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    application_no: str | None = None
    patentee_uscc: str | None = None
    ipc: str | None = None
    industry_code: str | None = None


def _visibility(caller: Principal) -> list[Any]:
    if caller.department in READ_ALL:
        return []
    own = (OpenLicense.patentee_uscc == caller.org.upper()) if caller.org else sa.false()
    return [sa.or_(OpenLicense.published_on.is_not(None), own)]


async def search(session: AsyncSession, caller: Principal, filters: Filters, *,
                 cursor: str | None, limit: int) -> tuple[list[OpenLicense], str | None]:
    """Newest first; announced declarations for everyone, the rest for the patentee and the
    regulators. ``ipc`` and ``industry_code`` match code prefixes."""
    conditions = _visibility(caller)
    if filters.status:
        conditions.append(OpenLicense.status == filters.status)
    if filters.application_no:
        conditions.append(OpenLicense.application_no == canonical_application_no(
            filters.application_no, "query.application_no"))
    if filters.patentee_uscc:
        conditions.append(OpenLicense.patentee_uscc == filters.patentee_uscc.upper())
    if filters.ipc:
        prefix = search_prefix(filters.ipc, "query.ipc")
        conditions.append(OpenLicense.ipc_index.like(f"%|{prefix}%"))
    if filters.industry_code:
        prefix = search_prefix(filters.industry_code, "query.industry_code")
        conditions.append(OpenLicense.industry_index.like(f"%|{prefix}%"))
    query = sa.select(OpenLicense).where(*conditions)
    return await newest_first(session, query, OpenLicense.created_at, OpenLicense.id, cursor,
                              limit)


def read_model(row: OpenLicense, counts: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    return {
        "id": row.id, "application_no": row.application_no, "patent_kind": row.patent_kind,
        "status": row.status, "patentee_uscc": row.patentee_uscc,
        "patentee_name": row.patentee_name, "patentee_type": row.patentee_type,
        "region_code": row.region_code, "title": row.title, "abstract": row.abstract,
        "claims": row.claims, "technical_field": row.technical_field,
        "application_scenarios": row.application_scenarios, "keywords": list(row.keywords),
        "ipc_codes": list(row.ipc_codes), "industry_codes": list(row.industry_codes),
        "payment_method": row.payment_method, "lump_sum_cny": R.money_str(row.lump_sum_cny),
        "entry_fee_cny": R.money_str(row.entry_fee_cny),
        "royalty_rate": R.rate_str(row.royalty_rate), "royalty_base": row.royalty_base,
        "payment_terms": row.payment_terms, "starts_on": row.starts_on, "ends_on": row.ends_on,
        "grant_date": row.grant_date, "evaluation_report_ref": row.evaluation_report_ref,
        "co_owner_consents": list(row.co_owner_consents), "basis": row.basis,
        "fee_guidance": row.fee_guidance, "suspension_reasons": list(row.suspension_reasons),
        "declared_by": row.declared_by, "published_by": row.published_by,
        "withdrawn_by": row.withdrawn_by, "published_on": row.published_on,
        "withdrawn_on": row.withdrawn_on, "withdrawal_reason": row.withdrawal_reason,
        "licenses_granted": counts[0], "licenses_in_force": counts[1],
        "allowed_transitions": R.TRANSITIONS[row.status], "revision": row.revision,
        "created_at": row.created_at, "changed_at": row.changed_at}
