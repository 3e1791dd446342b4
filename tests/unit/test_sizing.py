"""SME size classification (RULES.md §6) as a pure rule over the 2011 pack."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from services.registry.enterprises.sizing import Figures, SizeClass, classify_size, size_packs
from shared.identifiers import validate_industry_code

PACK = size_packs().in_force(date(2026, 1, 1))


def classify(code: str, employees=None, revenue=None, assets=None):
    industry, section = validate_industry_code(code)
    return classify_size(industry, section, Figures(employees, None if revenue is None else D(revenue),
                                                    None if assets is None else D(assets), 2025), PACK)


@pytest.mark.parametrize("code, employees, revenue, assets, expected", [
    # RULES §6.2 worked examples
    ("C3911", 250, 15000, None, "small"),      # high revenue, but employees < 300
    ("C3911", 1200, 30000, None, "medium"),    # SME through the revenue "or"
    ("I6513", 80, 3000, None, "small"),        # software: employees < 100
    ("F5111", 25, 6000, None, "medium"),       # wholesale
    ("E4710", None, 9000, 4000, "small"),      # construction: assets < 5000
    # boundaries: upper limits are strict (<), lower limits inclusive (>=)
    ("C3911", 1000, 40000, None, "large"),
    ("C3911", 999, 40000, None, "medium"),
    ("C3911", 300, 2000, None, "medium"),
    ("C3911", 299, 2000, None, "small"),
    ("C3911", 20, 300, None, "small"),
    ("C3911", 19, 300, None, "micro"),
    ("C3911", 20, 299, None, "micro"),
    ("F5211", 10, 100, None, "small"),         # retail
    ("F5211", 9, 100, None, "micro"),
    ("A0111", None, 500, None, "medium"),      # agriculture: revenue only
    ("A0111", None, 49, None, "micro"),
    ("G5411", 300, 3000, None, "medium"),      # road transport
    ("G5920", 100, 1000, None, "medium"),      # warehousing
    ("G6010", 20, 100, None, "small"),         # postal
    ("H6210", 100, 2000, None, "medium"),      # catering
    ("I6311", 2000, 50000, None, "medium"),    # transmission: employees 2000 not < 2000, revenue is
    ("K7010", None, 1000, 5000, "medium"),     # real-estate development
    ("K7020", 150, 600, None, "small"),        # property management
    ("L7212", 100, None, 8000, "medium"),      # leasing & business services
    ("M7320", 99, None, None, "small"),        # other: employees only
    ("M7320", 300, None, None, "large"),
])
def test_size_class(code, employees, revenue, assets, expected):
    decision = classify(code, employees, revenue, assets)
    assert decision.size_class == SizeClass(expected), decision.basis
    assert decision.basis["outcome"] == expected


def test_basis_names_rules_figures_and_clause():
    basis = classify("C3911", 250, 15000).basis
    assert basis["industry_group"]["key"] == "industry"
    assert basis["pack"] == "sme-size@v1"
    assert any("300号" in s["document"] and s["clause"] for s in basis["sources"])
    medium = next(c for c in basis["checks"] if c["rule"] == "medium_lower_limits")
    assert medium["passed"] is False
    assert {"metric": "employees", "value": "250", "limit": 300, "passed": False,
            "detail": "employees 250 < 300"} in medium["lines"]


@pytest.mark.parametrize("code", ["J6620", "G5311"])
def test_finance_and_railway_are_not_covered(code):
    decision = classify(code, 10, 100)
    assert decision.size_class is None
    assert decision.basis["outcome"].startswith("not covered")


def test_missing_figure_is_undetermined_not_guessed():
    decision = classify("C3911", 250, None)      # revenue unknown: SME (employees < 1000) …
    assert decision.size_class is None           # … but medium/small need revenue too
    assert "missing revenue" in decision.basis["outcome"]
    assert classify("C3911", None, 50000).size_class is None   # cannot tell large from SME
