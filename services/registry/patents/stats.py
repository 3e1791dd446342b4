"""High-value invention patent counts per region or enterprise, and the growth of the stock.

Counts are recomputed with the pure rule at the end of each year (today for the current year),
from the facts and their dates, so a past year's figure does not depend on when the sweep ran.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.patents import repository
from services.registry.patents.high_value import (Category, assess_high_value, growth, pack_for,
                                                  target_for)
from services.registry.patents.service import SEI_BASIS, facts_of
from shared.errors import InvalidInput
from shared.identifiers import InvalidIdentifier, validate_region_code, validate_uscc

MAX_YEARS = 30


def region_prefix(raw: str) -> tuple[str, str]:
    """(the code as given, the prefix it covers): 140000 → 14, 140200 → 1402, 140202 → 140202;
    2- and 4-digit prefixes are accepted as they are."""
    text = raw.strip()
    if text.isascii() and text.isdigit() and len(text) in (2, 4):
        return text, text
    try:
        code = validate_region_code(text)
    except InvalidIdentifier as exc:
        raise InvalidInput("query.region", exc.rule, exc.message,
                           message_zh=exc.message_zh or None) from exc
    if code.endswith("0000"):
        return code, code[:2]
    if code.endswith("00"):
        return code, code[:4]
    return code, code


def _as_of(year: int, today: date) -> date:
    return today if year == today.year else date(year, 12, 31)


async def high_value_stats(session: AsyncSession, *, region: str | None, uscc: str | None,
                           year: int, from_year: int | None, today: date) -> dict[str, Any]:
    """Count high-value invention patents at the end of each year of the period; growth."""
    if region and uscc:
        raise InvalidInput("query.uscc", "stats.one_scope", "give region or uscc, not both",
                           message_zh="地区与企业只能选其一")
    if year > today.year:
        raise InvalidInput("query.year", "not_in_future", f"{year} has not begun",
                           message_zh="统计年度不能晚于今年")
    start = from_year if from_year is not None else year - 1
    if start > year or year - start > MAX_YEARS:
        raise InvalidInput("query.from_year", "stats.period",
                           f"from_year must be at most {year} and at least {year - MAX_YEARS}",
                           message_zh="统计起始年度无效")
    code = prefix = None
    if region:
        code, prefix = region_prefix(region)
    if uscc:
        try:
            uscc = validate_uscc(uscc).code
        except InvalidIdentifier as exc:
            raise InvalidInput("query.uscc", exc.rule, exc.message,
                               message_zh=exc.message_zh or None) from exc
    as_of = _as_of(year, today)
    pack = pack_for(as_of)
    patents = await repository.for_stats(session, kinds=pack.data.counted_kinds,
                                         region_prefix=prefix, uscc=uscc)
    facts = [facts_of(p) for p in patents]
    series = []
    by_category: Counter[str] = Counter()
    for y in range(start, year + 1):
        on = _as_of(y, today)
        decisions = [assess_high_value(f, on, pack) for f in facts]
        series.append((y, sum(d.is_high_value for d in decisions)))
        if y == year:
            for d in decisions:
                by_category.update(d.categories)
    target = target_for(code, pack) if code and len(code) == 6 else None
    return {
        "scope": {"region": code, "region_prefix": prefix, "uscc": uscc},
        "year": year, "as_of": as_of, "count": series[-1][1],
        "by_category": {c.value: by_category.get(c.value, 0) for c in Category},
        "series": [{"year": y, "as_of": _as_of(y, today), "count": n} for y, n in series],
        "growth": growth(series, target),
        "basis": {
            "rule": "high_value_invention_patent", "pack": f"{pack.id}@v{pack.version}",
            "sources": pack.cite(),
            "counting": ("valid invention patents meeting any of the five categories on the "
                         "date; one meeting several counts once"),
            "scope": ("region: patents whose first owner is domestic (country CN) and registered "
                      "in the region (the enterprise's registered region, else USCC positions "
                      "3-8, else the region given for an owner without a USCC)"
                      if uscc is None else "enterprise: patents it owns alone or jointly"),
            "dates": ("each year is counted on 31 December, the current year on today's date; "
                      "the pack in force on the last date applies to the whole series"),
            "strategic_emerging_industry": SEI_BASIS,
            "per_10k_population": "not computed: the registry holds no population figures",
        },
    }
