"""Test data for the IP domain: synthetic application numbers and patent bodies (RULES.md §2)."""

from __future__ import annotations

import random
from datetime import date

from shared.db import today_cn
from shared.identifiers import application_check_char


def application_no(year: int | None = None, kind: str = "1",
                   rng: random.Random | None = None) -> str:
    """A canonical, valid 12-digit application number with a random serial."""
    rng = rng or random.Random()
    year = year or today_cn().year - 3
    digits = f"{year}{kind}{rng.randrange(10**7):07d}"
    return f"{digits}.{application_check_char(digits)}"


def current_patent_year(filing: date, on: date | None = None) -> int:
    """Patent years run from one anniversary of the filing date to the next (RULES.md §11)."""
    on = on or today_cn()
    return on.year - filing.year + (1 if (on.month, on.day) >= (filing.month, filing.day) else 0)


def patent_body(owner_uscc: str | None, *, number: str | None = None,
                filing_date: date | None = None, granted: bool = True, **overrides) -> dict:
    """A granted invention (by default, fees paid for the current year) owned by one enterprise,
    meeting no high-value category."""
    filing = filing_date or date(today_cn().year - 3, 3, 10)
    body = {
        "application_no": number or application_no(filing.year),
        "title": "一种锂离子电池正极材料及其制备方法",
        "abstract": "本发明公开了一种正极材料。",
        "ipc_codes": ["H01M 10/0525", "h01m4/505"],
        "owners": [{"uscc": owner_uscc, "name": "大同市示例新材料科技有限公司"}],
        "filing_date": filing.isoformat(),
    }
    if granted:
        body["grant_date"] = date(filing.year + 1, 9, 1).isoformat()
        body["annual_fees_paid_through"] = current_patent_year(filing)
    body.update(overrides)
    return body
