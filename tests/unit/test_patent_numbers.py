"""Chinese patent application numbers (RULES.md §2.1, §2.2) and IPC symbols.

The check digit is recomputed by a reference implementation written here from the text of the
rules, independently of ``shared.identifiers``; test numbers are synthetic.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.identifiers import (InvalidIdentifier, application_check_char,
                                validate_application_no, validate_ipc)

TODAY = date(2026, 11, 23)

# --- reference implementation, from RULES.md §2.1 / §2.2 ------------------------------------------

#: §2.1 "weights (digits 1..12) = 2,3,4,5,6,7,8,9,2,3,4,5"
REF_WEIGHTS_12 = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
#: §2.2 "weights 2,3,4,5,6,7,8,9 on the 8 digits"
REF_WEIGHTS_8 = [2, 3, 4, 5, 6, 7, 8, 9]
REF_KINDS = {"1": "invention", "2": "utility_model", "3": "design", "8": "pct_invention",
             "9": "pct_utility_model"}


def ref_check(digits: str) -> str:
    weights = REF_WEIGHTS_12 if len(digits) == 12 else REF_WEIGHTS_8
    r = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return "X" if r == 10 else str(r)


def validate(raw: str):
    return validate_application_no(raw, today=TODAY)


def rule_of(raw: str) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as info:
        validate(raw)
    return info.value


# --- worked examples ------------------------------------------------------------------------------

@pytest.mark.parametrize("digits, products, total, check, kind", [
    ("202410123456", [4, 0, 8, 20, 6, 0, 8, 18, 6, 12, 20, 30], 132, "0", "invention"),
    ("202420654321", None, 167, "2", "utility_model"),
    ("202330001234", None, 85, "8", "design"),
])
def test_worked_examples_of_rules_2_1(digits, products, total, check, kind):
    if products is not None:
        assert [int(d) * w for d, w in zip(digits, REF_WEIGHTS_12)] == products
    assert sum(int(d) * w for d, w in zip(digits, REF_WEIGHTS_12)) == total
    assert ref_check(digits) == check == application_check_char(digits)
    number = validate(f"{digits}.{check}")
    assert number.canonical == f"{digits}.{check}" and number.kind == kind
    assert number.year == int(digits[:4]) and number.warnings == []


def test_worked_example_of_rules_2_2():
    assert sum(int(d) * w for d, w in zip("98101234", REF_WEIGHTS_8)) == 126
    assert ref_check("98101234") == "5" == application_check_char("98101234")
    number = validate("98101234.5")
    assert (number.canonical, number.kind, number.year) == ("98101234.5", "invention", 1998)


# --- properties on random numbers -----------------------------------------------------------------

twelve_digits = st.builds(
    lambda year, kind, serial: f"{year}{kind}{serial:07d}",
    st.integers(2003, TODAY.year), st.sampled_from(sorted(REF_KINDS)), st.integers(0, 9_999_999))


@settings(max_examples=300)
@given(twelve_digits)
def test_random_valid_numbers_round_trip(digits):
    canonical = f"{digits}.{ref_check(digits)}"
    number = validate(canonical)
    assert number.canonical == canonical
    assert number.kind == REF_KINDS[digits[4]]
    assert number.is_invention == (digits[4] in "18")
    assert number.patent_no == "ZL" + canonical
    # the messy forms of the same number all land on it
    check = ref_check(digits)
    for messy in (f"ZL{canonical}", f"CN {digits}{check}", f"{digits}{check}",
                  canonical.translate(str.maketrans("0123456789.X", "０１２３４５６７８９．Ｘ")),
                  f"{digits[:4]} {digits[4]} {digits[5:]}.{check}",
                  f"  zl{canonical.lower()}  "):
        assert validate(messy).canonical == canonical, messy


@settings(max_examples=300)
@given(twelve_digits, st.sampled_from("0123456789X"))
def test_any_other_check_char_is_refused_naming_the_expected_one(digits, wrong):
    expected = ref_check(digits)
    if wrong == expected:
        return
    error = rule_of(f"{digits}.{wrong}")
    assert error.rule == "application_no.check_char"
    assert repr(expected) in error.message and f"{digits}.{expected}" in error.message
    assert expected in error.message_zh


@settings(max_examples=300)
@given(twelve_digits, st.integers(0, 11), st.integers(1, 9))
def test_a_single_changed_digit_never_passes(digits, position, delta):
    # Every weight is 2..9, so a single substitution always changes the sum modulo 11.
    canonical = f"{digits}.{ref_check(digits)}"
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1:]
    with pytest.raises(InvalidIdentifier):
        validate(f"{changed}.{ref_check(digits)}")
    assert validate(canonical).canonical == canonical


# --- messy forms and refusals ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "ZL202410123456.0", "CN202410123456.0", "CN 202410123456.0", "CN 2024101234560",
    "2024101234560", "2024 1 0123456.0", "２０２４１０１２３４５６．０", "ＺＬ２０２４１０１２３４５６．０",
    "202410123456。0", "\t202410123456.0\n",
])
def test_messy_forms_are_canonicalised(raw):
    number = validate(raw)
    assert number.canonical == "202410123456.0"
    assert number.warnings == []


def test_check_char_x_and_lower_case():
    digits = next(f"2023100{n:05d}" for n in range(100_000) if ref_check(f"2023100{n:05d}") == "X")
    assert validate(f"{digits}.x").canonical == f"{digits}.X"
    assert validate(f"zl{digits}x").canonical == f"{digits}.X"


def test_spaces_inside_the_serial_are_accepted_with_a_warning():
    number = validate("2024101 23456.0")
    assert number.canonical == "202410123456.0"
    assert any(w.startswith("application_no.spacing") for w in number.warnings)


@pytest.mark.parametrize("raw, rule", [
    ("", "application_no.empty"),
    ("   ", "application_no.empty"),
    ("20241012345.0", "application_no.format"),       # 11 digits
    ("2024101234567.0", "application_no.format"),     # 13 digits
    ("202410123456.00", "application_no.format"),
    ("20241O123456.0", "application_no.format"),      # letter O
    ("202410123456-0", "application_no.format"),
    ("CN1101234567A", "application_no.format"),       # a publication number, not an application
    ("٢٠٢٤١٠١٢٣٤٥٦.٠", "application_no.format"),      # Arabic-Indic digits are not folded by NFKC
    ("202440123456.3", "application_no.kind"),        # type digit 4
    ("200210123456.0", "application_no.year"),        # 12 digits began in 2003
    ("202710123456.3", "application_no.year"),        # after TODAY
    ("202410123456", "application_no.check_char_missing"),
    ("202410123456.", "application_no.check_char_missing"),
])
def test_refusals_name_the_rule(raw, rule):
    assert rule_of(raw).rule == rule


def test_missing_check_char_says_which_one():
    error = rule_of("202410123456")
    assert "'0'" in error.message and "202410123456.0" in error.message


# --- pre-2003 numbers (RULES §2.2) ---------------------------------------------------------------

def eight(yy: str, kind: str = "1", serial: str = "01234") -> str:
    return f"{yy}{kind}{serial}"


@pytest.mark.parametrize("yy, year", [("89", 1989), ("93", 1993), ("99", 1999), ("00", 2000),
                                      ("03", 2003)])
def test_8_digit_numbers_with_check_char_from_1989(yy, year):
    digits = eight(yy)
    number = validate(f"{digits}.{ref_check(digits)}")
    assert number.canonical == f"{digits}.{ref_check(digits)}" and number.year == year
    assert validate(f"ZL{digits}{ref_check(digits)}").canonical == number.canonical


@pytest.mark.parametrize("yy", ["85", "86", "87", "88"])
def test_1985_to_1988_numbers_have_no_check_char(yy):
    digits = eight(yy)
    number = validate(digits)
    assert number.canonical == digits and number.check_char is None
    assert number.year == 1900 + int(yy) and number.warnings == []
    given_check = validate(f"{digits}.7")
    assert given_check.canonical == digits
    assert any("no_check_char" in w for w in given_check.warnings)


@pytest.mark.parametrize("yy", ["89", "90", "91", "92"])
def test_pre_1993_mismatch_is_only_a_warning(yy):
    digits = eight(yy)
    wrong = "0" if ref_check(digits) != "0" else "1"
    number = validate(f"{digits}.{wrong}")
    assert number.canonical == f"{digits}.{wrong}"
    assert any(w.startswith("application_no.check_char (pre-1993") and ref_check(digits) in w
               for w in number.warnings)


@pytest.mark.parametrize("yy", ["93", "98", "02", "03"])
def test_from_1993_a_mismatch_is_refused(yy):
    digits = eight(yy)
    wrong = "0" if ref_check(digits) != "0" else "1"
    error = rule_of(f"{digits}.{wrong}")
    assert error.rule == "application_no.check_char" and repr(ref_check(digits)) in error.message


@pytest.mark.parametrize("raw, rule", [
    ("04101234.5", "application_no.year"),   # 8 digits ended in 2003
    ("84101234.5", "application_no.year"),   # before the Patent Law
    ("98101234", "application_no.check_char_missing"),
    ("98401234.9", "application_no.kind"),
])
def test_8_digit_refusals(raw, rule):
    assert rule_of(raw).rule == rule


@pytest.mark.parametrize("kind_digit, kind", sorted(REF_KINDS.items()))
def test_kind_from_the_type_digit_in_both_formats(kind_digit, kind):
    twelve = f"2024{kind_digit}0123456"
    assert validate(f"{twelve}.{ref_check(twelve)}").kind == kind
    old = f"99{kind_digit}01234"
    assert validate(f"{old}.{ref_check(old)}").kind == kind


# --- IPC -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, canonical", [
    ("H01M 10/0525", "H01M 10/0525"),
    ("G06F 16/33", "G06F 16/33"),
    ("H01M10/0525", "H01M 10/0525"),
    ("h01m  10 / 0525", "H01M 10/0525"),
    ("Ｇ０６Ｆ　１６／３３", "G06F 16/33"),
    ("H01M10/0525(2010.01)", "H01M 10/0525"),
    ("A01B 1/00", "A01B 1/00"),
    ("C07D 0487/04", "C07D 487/04"),
    ("B82Y 5/000001", "B82Y 5/000001"),
])
def test_ipc_symbols_are_normalised(raw, canonical):
    assert validate_ipc(raw) == canonical


@pytest.mark.parametrize("raw, rule", [
    ("I01M 10/0525", "ipc.section"),       # sections are A-H
    ("Z99Z 1/00", "ipc.section"),
    ("H1M 10/0525", "ipc.format"),         # class is 2 digits
    ("H01 10/0525", "ipc.format"),         # no subclass letter
    ("H01M 10/5", "ipc.format"),           # subgroup 2-6 digits
    ("H01M 10/1234567", "ipc.format"),
    ("H01M 12345/00", "ipc.format"),       # main group 1-4 digits
    ("H01M /0525", "ipc.format"),
    ("H01M 10-0525", "ipc.format"),
    ("H00M 10/00", "ipc.format"),          # class 00 does not exist
    ("H01M 0/00", "ipc.format"),
    ("", "ipc.format"),
])
def test_bad_ipc_symbols(raw, rule):
    with pytest.raises(InvalidIdentifier) as info:
        validate_ipc(raw)
    assert info.value.rule == rule
