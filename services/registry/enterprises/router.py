"""HTTP for enterprises: parse, call the service, shape the response."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.registry.enterprises import repository, service
from services.registry.enterprises.exceptions import EnterpriseNotFound
from services.registry.enterprises.models import Enterprise
from services.registry.enterprises.schemas import EnterpriseCreate, EnterpriseRead
from shared.app import DbSession
from shared.auth import Caller, Principal, ensure_can_read_enterprise, require
from shared.identifiers import PROVINCES
from shared.projections import USCC_PATH

router = APIRouter(tags=["enterprises"])

CanRegister = Annotated[Principal, Depends(require(scopes=("enterprises:write",),
                                                   departments=("market_regulation",)))]


def to_read(enterprise: Enterprise) -> EnterpriseRead:
    return EnterpriseRead(
        uscc=enterprise.uscc, name=enterprise.name, region_code=enterprise.region_code,
        province_code=enterprise.province_code,
        province_name=PROVINCES.get(enterprise.province_code or ""),
        industry_code=enterprise.industry_code, industry_section=enterprise.industry_section,
        ownership=enterprise.ownership, founded_on=enterprise.founded_on,
        uscc_warnings=json.loads(enterprise.uscc_warnings) if enterprise.uscc_warnings else [],
        revision=enterprise.revision, created_at=enterprise.created_at,
        updated_at=enterprise.updated_at)


@router.post("/enterprises", status_code=201, response_model=EnterpriseRead,
             summary="Register an enterprise (market regulation bureau)")
async def register_enterprise(body: EnterpriseCreate, session: DbSession, caller: CanRegister,
                              response: Response) -> EnterpriseRead:
    """Validate the USCC (GB 32100 check character) and register; emits enterprise.registered."""
    enterprise = await service.register(session, body, caller)
    response.headers["Location"] = f"/v1/enterprises/{enterprise.uscc}"
    response.headers["ETag"] = f'"{enterprise.revision}"'
    return to_read(enterprise)


@router.get("/enterprises/{uscc}", response_model=EnterpriseRead,
            summary="Read an enterprise's registered record")
async def read_enterprise(uscc: USCC_PATH, session: DbSession, caller: Caller,
                          response: Response) -> EnterpriseRead:
    """The registry's record (the source of truth)."""
    uscc = uscc.upper()
    ensure_can_read_enterprise(caller, uscc)
    enterprise = await repository.get(session, uscc)
    if enterprise is None:
        raise EnterpriseNotFound(f"no enterprise with USCC {uscc}", detail_zh="未找到该企业")
    response.headers["ETag"] = f'"{enterprise.revision}"'
    return to_read(enterprise)
