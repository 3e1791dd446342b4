"""HTTP for the regulators' statistics: JSON, or one section as CSV for Excel."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.financing.stats import service
from services.financing.stats.schemas import StatsRead
from shared.app import DbSession
from shared.auth import Principal, require

router = APIRouter(tags=["stats"])

CanRead = Annotated[Principal, Depends(require(scopes=("stats:read",)))]
FromMonth = Annotated[str | None, Query(alias="from", max_length=7, examples=["2026-01"],
                                        description="First month YYYY-MM (default: 11 months "
                                                    "before `to`)")]
ToMonth = Annotated[str | None, Query(alias="to", max_length=7, examples=["2026-12"],
                                      description="Last month YYYY-MM, inclusive (default: "
                                                  "this month)")]
GroupBy = Annotated[str | None, Query(max_length=100, examples=["month,province"], description=(
    "Comma-separated: month, province, region, bank, tier (whitelist tier at application). "
    "Default month. Compensation is always by fund (and month when asked)."))]
Section = Annotated[str | None, Query(max_length=30, description=(
    "CSV only: volume (default), private_share, green_channel or compensation"))]
CSV_MEDIA = "text/csv; charset=utf-8"


def _csv(stats: dict, name: str) -> Response:
    return Response(service.to_csv(stats, name), media_type=CSV_MEDIA, headers={
        "Content-Disposition": f'attachment; filename="{service.filename(stats, name)}"'})


@router.get("/stats", response_model=StatsRead, response_model_by_alias=True,
            responses={200: {"content": {CSV_MEDIA: {}}}},
            summary="Pledge-financing statistics for regulators")
async def read_stats(session: DbSession, caller: CanRead, from_month: FromMonth = None,
                     to_month: ToMonth = None, group_by: GroupBy = None,
                     output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
                     section: Section = None):
    """Pledge financing volume (approved and disbursed, count and amount), the share of loans to
    private enterprises, green-channel timeliness (within deadline / decisions, median hours)
    and compensation paid by fund; by month, province, region, bank and whitelist tier at
    application as asked. ``format=csv`` returns one section as CSV (as ``/v1/stats.csv``)."""
    name = service.section(section) if output == "csv" else None
    stats = await service.compute(session, from_month=from_month, to_month=to_month,
                                  group=group_by)
    if name is not None:
        return _csv(stats, name)
    return StatsRead(**stats)


@router.get("/stats.csv", response_class=Response, responses={200: {"content": {CSV_MEDIA: {}}}},
            summary="One statistics section as CSV (UTF-8 with BOM, for Excel)")
async def read_stats_csv(session: DbSession, caller: CanRead, from_month: FromMonth = None,
                         to_month: ToMonth = None, group_by: GroupBy = None,
                         section: Section = None) -> Response:
    """A header row, then one row per group; money in yuan with two decimals."""
    name = service.section(section)
    stats = await service.compute(session, from_month=from_month, to_month=to_month,
                                  group=group_by)
    return _csv(stats, name)
