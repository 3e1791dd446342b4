"""Statistics for regulators (PBoC, NFRA, CSRC, the IP office, auditors): pledge-financing
volume, the share going to private enterprises, green-channel timeliness and compensation paid.
Aggregates come from the database (repository.py); this module parses the period and the
grouping, merges the sections' rows and renders CSV. No FastAPI, no SQL strings."""

from __future__ import annotations

import csv
import io
import re
import statistics
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.financing.stats import repository
from services.financing.stats.repository import DIMENSION_FIELDS, Period, yuan
from shared.db import today_cn, utcnow
from shared.errors import InvalidInput

DIMENSIONS = ("month", "province", "region", "bank", "tier")
SECTIONS = ("volume", "private_share", "green_channel", "compensation")
MAX_MONTHS = 120
MONTH = re.compile(r"^(\d{4})-(\d{2})$")

DEFINITIONS = {
    "volume": "Pledge loans approved (count, approved amount; by the month of the decision) and "
              "disbursed (count, disbursed amount; by the month of disbursement). Region, bank "
              "and whitelist tier are the borrower's at application.",
    "private_share": "Approved pledge loans (by decision month) and the part whose borrower is "
                     "a private enterprise (ownership = private in financing's enterprise "
                     "projection, as last reported by the registry): shares of count and amount.",
    "green_channel": "Decisions (approve or reject) on green-channel applications (whitelisted "
                     "at application), by decision month: decided on or before the deadline / "
                     "all, and the median hours from application to decision.",
    "compensation": "Risk compensation paid from each fund (ledger payments), by the month of "
                    "the value date.",
}


def _month(raw: str, field: str) -> date:
    match = MONTH.match(raw or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1985 <= int(match.group(1)) <= 2200:
        raise InvalidInput(field, "month.format", f"{raw!r} is not a month (YYYY-MM, "
                           "1985-01 to 2200-12)", message_zh="月份格式应为 YYYY-MM")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def period(from_month: str | None, to_month: str | None, *, today: date | None = None
           ) -> tuple[Period, str, str]:
    """The months asked for (default: the twelve months to this one), validated."""
    today = today or today_cn()
    last = _month(to_month, "query.to") if to_month else date(today.year, today.month, 1)
    if from_month:
        first = _month(from_month, "query.from")
    else:
        first = date(last.year - 1 + (last.month == 12), last.month % 12 + 1, 1)
    if first > last:
        raise InvalidInput("query.from", "period.order", "from is after to",
                           message_zh="起始月份晚于结束月份")
    if _months_between(first, last) > MAX_MONTHS:
        raise InvalidInput("query.from", "period.too_long",
                           f"at most {MAX_MONTHS} months per query",
                           message_zh=f"查询期间最长 {MAX_MONTHS} 个月")
    return (Period(first, _next_month(last)), f"{first:%Y-%m}", f"{last:%Y-%m}")


def group_by(raw: str | None) -> list[str]:
    """Comma-separated grouping (default: month), in the canonical order."""
    names = [n.strip() for n in (raw or "month").split(",") if n.strip()]
    unknown = sorted(set(names) - set(DIMENSIONS))
    if unknown:
        raise InvalidInput("query.group_by", "group_by.unknown",
                           f"unknown grouping {', '.join(unknown)}; use {', '.join(DIMENSIONS)}",
                           message_zh="不支持的分组维度")
    return [d for d in DIMENSIONS if d in names]


def _share(part: Decimal | int, whole: Decimal | int) -> str | None:
    if not whole:
        return None
    value = (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return f"{value.normalize():f}"


def _hours(values: list[float]) -> str | None:
    if not values:
        return None
    median = Decimal(str(statistics.median(values))).quantize(Decimal("0.01"),
                                                              rounding=ROUND_HALF_UP)
    return f"{median:f}"


def _sort_key(key: dict[str, Any]) -> tuple:
    return tuple("" if key.get(f) is None else str(key[f]) for f in
                 ("month", *DIMENSION_FIELDS.values(), "fund_name", "fund_id"))


def _frozen(key: dict[str, Any]) -> tuple:
    return tuple(sorted(key.items()))


async def compute(session: AsyncSession, *, from_month: str | None, to_month: str | None,
                  group: str | None) -> dict[str, Any]:
    span, first, last = period(from_month, to_month)
    dims = group_by(group)

    volume: dict[tuple, dict[str, Any]] = {}

    def slot(key: dict[str, Any]) -> dict[str, Any]:
        return volume.setdefault(_frozen(key), key | {
            "approved_count": 0, "approved_amount_cny": "0.00", "disbursed_count": 0,
            "disbursed_amount_cny": "0.00"})

    for key, row in await repository.approved(session, span, dims):
        slot(key).update(approved_count=int(row.count), approved_amount_cny=f"{yuan(row.fen)}")
    for key, row in await repository.disbursed(session, span, dims):
        slot(key).update(disbursed_count=int(row.count), disbursed_amount_cny=f"{yuan(row.fen)}")

    private = []
    for key, row in await repository.private_share(session, span, dims):
        amount, private_amount = yuan(row.fen), yuan(row.private_fen)
        private.append(key | {
            "loans": int(row.count), "amount_cny": f"{amount}",
            "private_loans": int(row.private_count), "private_amount_cny": f"{private_amount}",
            "count_share": _share(int(row.private_count), int(row.count)),
            "amount_share": _share(private_amount, amount)})

    durations: dict[tuple, list[float]] = {}
    for key, applied_at, decided_at in await repository.green_channel_durations(
            session, span, dims):
        durations.setdefault(_frozen(key), []).append(
            (decided_at - applied_at).total_seconds() / 3600)
    green = []
    for key, row in await repository.green_channel(session, span, dims):
        green.append(key | {
            "decisions": int(row.decisions), "within_deadline": int(row.within_deadline),
            "timeliness": _share(int(row.within_deadline), int(row.decisions)),
            "median_hours": _hours(durations.get(_frozen(key), []))})

    paid = [key | {"claims_paid": int(row.count), "paid_cny": f"{yuan(row.fen)}"}
            for key, row in await repository.compensation_paid(session, span,
                                                              "month" in dims)]
    return {
        "from": first, "to": last, "group_by": dims, "generated_at": utcnow(),
        "definitions": DEFINITIONS,
        "volume": sorted(volume.values(), key=_sort_key),
        "private_share": sorted(private, key=_sort_key),
        "green_channel": sorted(green, key=_sort_key),
        "compensation": sorted(paid, key=_sort_key),
    }


# --- CSV ----------------------------------------------------------------------------------------

SECTION_COLUMNS = {
    "volume": ["approved_count", "approved_amount_cny", "disbursed_count",
               "disbursed_amount_cny"],
    "private_share": ["loans", "amount_cny", "private_loans", "private_amount_cny",
                      "count_share", "amount_share"],
    "green_channel": ["decisions", "within_deadline", "timeliness", "median_hours"],
    "compensation": ["claims_paid", "paid_cny"],
}


def section(raw: str | None) -> str:
    name = raw or "volume"
    if name not in SECTIONS:
        raise InvalidInput("query.section", "section.unknown",
                           f"unknown section {name!r}; use {', '.join(SECTIONS)}",
                           message_zh="不支持的统计项")
    return name


def to_csv(stats: dict[str, Any], name: str) -> str:
    """One section as CSV for Excel: UTF-8 with a BOM, a header row, one row per group."""
    if name == "compensation":
        keys = (["month"] if "month" in stats["group_by"] else []) + [
            "fund_id", "fund_name", "jurisdiction"]
    else:
        keys = [DIMENSION_FIELDS[d] for d in stats["group_by"]]
    columns = keys + SECTION_COLUMNS[name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in stats[name]:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return "\ufeff" + buffer.getvalue()


def filename(stats: dict[str, Any], name: str) -> str:
    return f"ipbridge-stats-{name}-{stats['from']}_{stats['to']}.csv"
