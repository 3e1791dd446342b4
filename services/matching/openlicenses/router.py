"""HTTP for open-licence declarations: parse, call the service, shape the response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.matching.db import KERNEL
from services.matching.facts.models import PatentFact
from services.matching.openlicenses import codes, packs, reads, service
from services.matching.openlicenses import rules as R
from services.matching.openlicenses.schemas import (FeeGuidanceRead, OpenLicenseCreate,
                                                    OpenLicensePage, OpenLicenseRead,
                                                    Publication, Status, Withdrawal)
from shared import idempotency
from shared.app import DbSession
from shared.auth import Caller, Principal, require
from shared.db import today_cn
from shared.errors import Forbidden, NotFound, problem_response

router = APIRouter(tags=["openlicenses"])

CanDeclare = Annotated[Principal, Depends(require(scopes=("openlicenses:declare",)))]
CanPublish = Annotated[Principal, Depends(require(scopes=("openlicenses:publish",)))]
OPEN_LICENSE_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                              r"[0-9a-f]{4}-[0-9a-f]{12}$",
                                      description="Declaration id (UUID)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe write: same key + same request → the same response, nothing twice")]
TRANSITION_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not the declarant, a current owner or the IP office (withdrawal) / "
                         "not the IP office (publication)"},
    404: {"description": "Unknown declaration"},
    409: {"description": "Not allowed in the current status (lists allowed_transitions), or "
                         "at publication a check now fails (lists the rules)"},
}


async def _shape(session, row) -> dict[str, Any]:
    counts = await reads.licence_counts(session, [row.id], today_cn())
    return jsonable_encoder(OpenLicenseRead(**reads.read_model(row, counts.get(row.id,
                                                                                 (0, 0)))))


@router.post("/open-licenses", status_code=201, response_model=OpenLicenseRead,
             summary="Declare an open licence (专利开放许可声明) for one's own patent",
             responses={409: {"description": "The patent already has a live declaration"},
                        422: {"description": "Refused: problem+json lists every failed rule "
                                             "(field, rule, clause) with the stored basis and "
                                             "open_license_id; or patent_unknown (nothing "
                                             "stored); or a field broke a rule"}})
async def declare(body: OpenLicenseCreate, session: DbSession, caller: CanDeclare,
                  request: Request, idempotency_key: IdempotencyKey = None):
    """The caller's organisation must own the patent (all co-owners consenting, §3.1); the
    patent must be granted, in force, with fees paid, not under an exclusive or sole licence,
    not suspended and not pledged without the pledgee's consent (Rule 86); the term must end by
    the patent's; the fee terms must fit the payment method; utility models and designs need an
    evaluation report (Art 50). Every check is a basis line. A refused declaration is stored as
    ``refused`` (422 with the basis and its id). Fee guidance flags, never refuses."""
    idem = await idempotency.begin(session, KERNEL.idempotency, request, caller,
                                   body.model_dump(mode="json"))
    if idem.replay is not None:
        return idem.replay
    row = await service.declare(session, body, caller)
    if row.status == "refused":
        problem = service.refusal(row).to_problem(request.url.path)
        await idem.record(session, 422, problem, {})
        return problem_response(problem)
    content = await _shape(session, row)
    headers = {"Location": f"/v1/open-licenses/{row.id}"}
    await idem.record(session, 201, content, headers)
    return JSONResponse(content, status_code=201, headers=headers)


#: Who reads fee guidance: those who declare (patentees), the IP office and the auditor.
FEE_GUIDANCE_SCOPES = ("openlicenses:declare", "openlicenses:publish")


def _may_read_guidance(caller: Principal) -> None:
    if caller.department == "auditor" or any(caller.has(s) for s in FEE_GUIDANCE_SCOPES):
        return
    raise Forbidden("fee guidance is for patentees declaring open licences, the IP office and "
                    "the auditor", detail_zh="许可费指引仅供开放许可声明人及监管部门查询")


@router.get("/open-licenses/fee-guidance", response_model=FeeGuidanceRead,
            summary="Suggested royalty range for an industry / IPC subclass, and soft limits",
            responses={403: {"description": "Neither a declarant nor the IP office / auditor"}})
async def fee_guidance(
    session: DbSession, caller: Caller,
    industry_code: Annotated[str | None, Query(max_length=10,
                                               description="GB/T 4754-2017 code")] = None,
    ipc: Annotated[str | None, Query(max_length=40, description="IPC symbol or subclass")] = None,
    royalty_base: Annotated[str, Query(pattern="^(net_sales|profit)$")] = "net_sales",
) -> FeeGuidanceRead:
    """From verified licences recorded in matching with a royalty (industry division first,
    else IPC subclass; at least the pack's minimum of comparables from its minimum of different
    licensors), else the CNIPA industry table of the pack (empty until the tables are obtained,
    RULES §9), else no suggestion with why."""
    _may_read_guidance(caller)
    industry = (codes.canonical_industry_codes([industry_code], "query.industry_code")
                if industry_code else [])
    ipc_codes = [codes.search_prefix(ipc, "query.ipc")] if ipc else []
    pack = packs.pack_on(today_cn())
    suggestion = await service.suggestion(session, industry_codes=industry, ipc_codes=ipc_codes,
                                          royalty_base=royalty_base, pack=pack)
    return FeeGuidanceRead(industry_code=industry[0] if industry else None,
                           ipc_subclass=codes.ipc_subclass(ipc_codes), royalty_base=royalty_base,
                           suggestion=suggestion, soft_limits=service.soft_limits(pack),
                           pack=pack.ref)


@router.get("/open-licenses/patent-checks/{application_no}",
            summary="Could this patent be declared for open licensing now? Each Rule 85/86 check")
async def patent_checks(
    session: DbSession, caller: Caller,
    application_no: Annotated[str, Path(min_length=8, max_length=40,
                                        description="申请号 (any common spelling)")],
) -> dict[str, Any]:
    """The checks of the patent itself (granted, in force, no exclusive or sole licence, not
    suspended, fees paid, not pledged without consent), on matching's view of the registry's
    facts and its revision: a patentee checks before declaring; the declarant-specific checks
    (ownership, co-owners, terms) run at declaration."""
    number = codes.canonical_application_no(application_no, "path.application_no")
    fact = await session.get(PatentFact, number)
    if fact is None:
        raise NotFound(f"matching has not received patent {number} from the registry",
                       detail_zh="匹配服务尚未收到该专利的登记信息")
    today = today_cn()
    snapshot = await service.snapshot_of(session, fact, today)
    checks = R.patent_checks(snapshot, packs.pack_on(today).data, today)
    return {"application_no": number, "patent_revision": fact.revision,
            "checked_on": today.isoformat(), "declarable": all(c.passed for c in checks),
            "failed": [c.code for c in checks if not c.passed],
            "checks": [c.as_dict() for c in checks]}


@router.get("/open-licenses", response_model=OpenLicensePage,
            summary="List declarations, newest first (cursor pagination)")
async def list_open_licenses(
    session: DbSession, caller: Caller,
    status: Annotated[Status | None, Query()] = None,
    application_no: Annotated[str | None, Query(max_length=40)] = None,
    patentee_uscc: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    ipc: Annotated[str | None, Query(max_length=40, description="IPC prefix (H01M, H01M10)")
                   ] = None,
    industry_code: Annotated[str | None, Query(max_length=10, description="GB/T 4754 prefix")
                             ] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OpenLicensePage:
    """Declarations that were published (published, suspended, or withdrawn after publication)
    are public; declared and refused ones, and those withdrawn before publication, are seen by
    their patentee, market_regulation and the auditor."""
    rows, next_cursor = await reads.search(
        session, caller, reads.Filters(status, application_no, patentee_uscc, ipc,
                                         industry_code), cursor=cursor, limit=limit)
    counts = await reads.licence_counts(session, [r.id for r in rows], today_cn())
    return OpenLicensePage(items=[OpenLicenseRead(**reads.read_model(r, counts.get(r.id,
                                                                                     (0, 0))))
                                  for r in rows], next_cursor=next_cursor)


@router.get("/open-licenses/{open_license_id}", response_model=OpenLicenseRead,
            summary="One declaration with its basis, fee guidance and licence counts")
async def read_open_license(open_license_id: OPEN_LICENSE_ID, session: DbSession,
                            caller: Caller) -> JSONResponse:
    row = await service.get_or_404(session, open_license_id)
    reads.ensure_can_read(row, caller)
    return JSONResponse(await _shape(session, row))


@router.post("/open-licenses/{open_license_id}/publication", response_model=OpenLicenseRead,
             responses=TRANSITION_ERRORS, summary="Publish a declaration (the IP office)")
async def publish(open_license_id: OPEN_LICENSE_ID, body: Publication, session: DbSession,
                  caller: CanPublish) -> JSONResponse:
    """declared → published, after re-running the checks on the current patent facts; emits
    ``openlicense.published`` (with the fee flags)."""
    row = await service.get_or_404(session, open_license_id)
    row = await service.publish(session, row, body, caller)
    return JSONResponse(await _shape(session, row))


@router.post("/open-licenses/{open_license_id}/withdrawal", response_model=OpenLicenseRead,
             responses=TRANSITION_ERRORS,
             summary="Withdraw a declaration (declarant or current owner), or terminate it "
                     "(the IP office)")
async def withdraw(open_license_id: OPEN_LICENSE_ID, body: Withdrawal, session: DbSession,
                   caller: Caller) -> JSONResponse:
    """declared | published | suspended → withdrawn, with the reason (Art 50): by the
    declarant, by any current owner of the patent (after a transfer), or by the IP office
    (terminating an orphaned declaration or rejecting one that keeps failing publication);
    ``basis.withdrawal`` says who. Licences already granted stay valid; emits
    ``openlicense.withdrawn`` (with how many still run) when the declaration had been
    published."""
    row = await service.get_or_404(session, open_license_id)
    row = await service.withdraw(session, row, body, caller)
    return JSONResponse(await _shape(session, row))
