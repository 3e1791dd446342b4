"""HTTP for the annual performance evaluation: JSON, an HTML report with charts, a PDF export."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, Response

from services.rewards.evaluation import report, service
from shared.app import DbSession
from shared.auth import Principal, require

router = APIRouter(tags=["evaluations"])

service.pack()  # a bad evaluation pack stops the service at import, with the field named

CanRead = Annotated[Principal, Depends(require(scopes=("evaluations:read",)))]
Year = Annotated[int, Path(description="Calendar year evaluated (the current one: to date)",
                           examples=[2025])]
ProvinceCode = Annotated[str | None, Query(max_length=10, examples=["14"], description=(
    "GB/T 2260 province (two digits); omitted: nationwide (or the region's province)"))]
RegionCode = Annotated[str | None, Query(max_length=10, examples=["140200"], description=(
    "GB/T 2260 region (six digits) within the province: 140200 Datong city covers 1402xx"))]
PDF = "application/pdf"


def _filename(evaluation: dict[str, Any], ext: str) -> str:
    scope = evaluation["scope"]
    where = scope["region_code"] or scope["province_code"] or "national"
    return f"evaluation-{evaluation['year']}-{where}.{ext}"


@router.get("/evaluations/{year}", summary="Annual performance evaluation (绩效评价)")
async def read_evaluation(year: Year, session: DbSession, caller: CanRead,
                          province_code: ProvinceCode = None,
                          region_code: RegionCode = None) -> dict[str, Any]:
    """Per year and province (or region): cultivation-pool admissions, graduations and removals;
    high-value invention patents in force and their growth against the 10 % target; pledge
    financing; open licences; rewards paid by policy; green-channel timeliness. Every section
    says how each figure was computed and from which events; ``policy_basis`` cites the
    clauses (national 2024 plan 六（三）, Datong 2023 (十六), Daye 2023)."""
    return await service.build_evaluation(session, year, province_code, region_code)


@router.get("/evaluations/{year}/report.html", response_class=HTMLResponse,
            summary="The evaluation as an HTML report with charts")
async def read_evaluation_html(year: Year, session: DbSession, caller: CanRead,
                               province_code: ProvinceCode = None,
                               region_code: RegionCode = None) -> HTMLResponse:
    """The same figures as the JSON, with bar charts (inline SVG), in Chinese and English."""
    evaluation = await service.build_evaluation(session, year, province_code, region_code)
    html = await asyncio.to_thread(report.render_html, evaluation)
    return HTMLResponse(html, headers={
        "Content-Disposition": f'inline; filename="{_filename(evaluation, "html")}"'})


@router.get("/evaluations/{year}/report.pdf", response_class=Response,
            responses={200: {"content": {PDF: {}}}},
            summary="The evaluation as a PDF (tables and charts)")
async def read_evaluation_pdf(year: Year, session: DbSession, caller: CanRead,
                              province_code: ProvinceCode = None,
                              region_code: RegionCode = None) -> Response:
    """A printable export of the report (A4, Chinese text in the STSong-Light CID font)."""
    evaluation = await service.build_evaluation(session, year, province_code, region_code)
    pdf = await asyncio.to_thread(report.render_pdf, evaluation)
    return Response(pdf, media_type=PDF, headers={
        "Content-Disposition": f'attachment; filename="{_filename(evaluation, "pdf")}"'})
