"""Test data built from the rules (RULES.md §1): synthetic but valid identifiers."""

from __future__ import annotations

import random

from shared.identifiers import USCC_CHARSET, org_code_check_char, uscc_check_char

_ORG_BODY_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # valid in both tables
_REGIONS = ("140200", "140100", "420281", "320500", "110108", "440300")


def make_uscc(rng: random.Random | None = None, *, prefix: str = "91") -> str:
    """A USCC with a correct organisation-code check (pos 17) and GB 32100 check char (pos 18)."""
    rng = rng or random.Random()
    while True:
        body = "".join(rng.choice(_ORG_BODY_CHARS) for _ in range(8))
        org_check = org_code_check_char(body)
        if org_check in USCC_CHARSET:  # 'X' is fine, every digit is fine
            break
    first17 = prefix + rng.choice(_REGIONS) + body + org_check
    return first17 + uscc_check_char(first17)


def enterprise_body(uscc: str | None = None, **overrides) -> dict:
    body = {
        "uscc": uscc or make_uscc(),
        "name": "大同市示例新材料科技有限公司",
        "region_code": "140200",
        "industry_code": "C3985",
        "ownership": "private",
        "founded_on": "2016-05-20",
        # a manufacturer of 120 people and 3,500 万元 revenue: small (RULES §6.2, industry)
        "employees": 120,
        "revenue_10k_cny": "3500",
        "figures_year": 2025,
    }
    body.update(overrides)
    return body
