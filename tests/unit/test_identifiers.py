"""USCC (GB 32100-2015 / GB 11714-1997), GB/T 2260 region and GB/T 4754-2017 industry codes.

Test data is synthetic and computed from RULES.md §1 by a reference implementation written here
from the text of the rules, independently of ``shared.identifiers``.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.catalogue import load_schema
from shared.identifiers import (
    USCC_WEIGHTS,
    InvalidIdentifier,
    org_code_check_char,
    uscc_check_char,
    validate_industry_code,
    validate_region_code,
    validate_uscc,
)

# --- reference implementation, from RULES.md §1.2, §1.4 and §1.5 ---------------------------------

#: §1.2: digits and upper-case Latin letters except I, O, S, V, Z; a symbol's value is its index.
REF_SYMBOLS = "".join(c for c in string.digits + string.ascii_uppercase if c not in "IOSVZ")
#: §1.4: W_i = 3^(i-1) mod 31, i = 1..17.
REF_WEIGHTS = [3 ** (i - 1) % 31 for i in range(1, 18)]
#: §1.5: organisation-code weights.
REF_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def ref_sum(first17: str) -> int:
    return sum(REF_SYMBOLS.index(c) * w for c, w in zip(first17, REF_WEIGHTS, strict=True))


def ref_uscc_check(first17: str) -> str:
    return REF_SYMBOLS[(31 - ref_sum(first17) % 31) % 31]


def ref_org_value(c: str) -> int:
    """§1.5: 0-9, then A=10 … Z=35 over all 26 letters (a different table from §1.2)."""
    return int(c) if c in string.digits else 10 + string.ascii_uppercase.index(c)


def ref_org_check(body8: str) -> str:
    r = 11 - sum(ref_org_value(c) * w for c, w in zip(body8, REF_ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(r, str(r))


#: §1.3 position 1 → allowed position 2 values.
REF_CATEGORIES = {
    "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129", "7": "129",
    "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}

#: §8.1: GB/T 2260 province-level prefixes (mainland, plus 71/81/82).
RULES_PROVINCES = ("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
                   "50 51 52 53 54 61 62 63 64 65 71 81 82").split()

#: §8.2: GB/T 4754-2017 section → inclusive division range.
RULES_SECTIONS = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72),
    "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90),
    "S": (91, 96), "T": (97, 97),
}

WORKED_FIRST17 = "91320500MA1B2C3D8"
WORKED_CODE = "91320500MA1B2C3D8W"

# The event contract a validated identifier ends up in (enterprise.registered v1).
_PAYLOAD_PROPS = load_schema("enterprise.registered", 1)["properties"]
USCC_PATTERN = _PAYLOAD_PROPS["uscc"]["pattern"]
REGION_PATTERN = _PAYLOAD_PROPS["region_code"]["pattern"]
INDUSTRY_PATTERN = _PAYLOAD_PROPS["industry_code"]["pattern"]


def with_check(first17: str) -> str:
    return first17 + ref_uscc_check(first17)


def rule_of(excinfo: pytest.ExceptionInfo[InvalidIdentifier]) -> str:
    return excinfo.value.rule


# --- strategies ----------------------------------------------------------------------------------

symbols = st.sampled_from(REF_SYMBOLS)
any_first17 = st.text(alphabet=REF_SYMBOLS, min_size=17, max_size=17)
#: 17 characters with the layout validate_uscc enforces: positions 3-8 digits.
uscc_first17 = st.tuples(
    st.text(alphabet=REF_SYMBOLS, min_size=2, max_size=2),
    st.text(alphabet=string.digits, min_size=6, max_size=6),
    st.text(alphabet=REF_SYMBOLS, min_size=9, max_size=9),
).map("".join)
valid_uscc = uscc_first17.map(with_check)


# --- §1.4 check character ------------------------------------------------------------------------

def test_weights_are_those_listed_in_the_rules():
    assert list(USCC_WEIGHTS) == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    assert REF_WEIGHTS == list(USCC_WEIGHTS)


def test_worked_example_check_character_is_w():
    assert ref_sum(WORKED_FIRST17) == 2049  # the sum printed in RULES §1.4
    assert uscc_check_char(WORKED_FIRST17) == "W"


def test_worked_example_org_check_character_is_8():
    assert org_code_check_char("MA1B2C3D") == "8"


def test_worked_example_validates_cleanly():
    checked = validate_uscc(WORKED_CODE)
    assert checked.code == WORKED_CODE
    assert checked.warnings == []
    assert checked.category == "91"
    assert checked.region_code == "320500"


@settings(max_examples=500)
@given(any_first17)
def test_check_char_agrees_with_reference(first17):
    assert uscc_check_char(first17) == ref_uscc_check(first17)


@settings(max_examples=300)
@given(uscc_first17)
def test_code_with_reference_check_char_is_accepted(first17):
    code = with_check(first17)
    checked = validate_uscc(code)
    assert checked.code == code
    # Warnings appear exactly where the rules say, and never for the check character.
    assert not any(w.startswith("uscc.check_character") for w in checked.warnings)
    unknown_pair = first17[1] not in REF_CATEGORIES.get(first17[0], "")
    assert any(w.startswith("uscc.category") for w in checked.warnings) == unknown_pair
    org_mismatch = ref_org_check(first17[8:16]) != first17[16]
    assert any(w.startswith("uscc.org_code_check") for w in checked.warnings) == org_mismatch


@settings(max_examples=100)
@given(uscc_first17)
def test_every_wrong_check_char_is_rejected(first17):
    right = ref_uscc_check(first17)
    for wrong in REF_SYMBOLS.replace(right, ""):
        with pytest.raises(InvalidIdentifier) as excinfo:
            validate_uscc(first17 + wrong)
        assert rule_of(excinfo) == "uscc.check_character"


@settings(max_examples=300)
@given(valid_uscc, st.integers(min_value=0, max_value=16), st.sampled_from(REF_SYMBOLS))
def test_any_single_substitution_is_caught(code, position, symbol):
    """Weights 3^i are non-zero mod the prime 31, so changing any one of positions 1-17 changes
    the check: a mistyped code is never accepted as another valid code."""
    if code[position] == symbol or (2 <= position <= 7 and not symbol.isdigit()):
        return
    mutated = code[:position] + symbol + code[position + 1:]
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_uscc(mutated)
    assert rule_of(excinfo) == "uscc.check_character"


@settings(max_examples=200)
@given(valid_uscc)
def test_accepted_codes_fit_the_event_contract(code):
    assert re.fullmatch(USCC_PATTERN, validate_uscc(code).code)


# Common bugs of RULES §1.6, each pinned by a case that exposes it.

@pytest.mark.parametrize("letter", [c for c in REF_SYMBOLS if c.isalpha()])
def test_letter_values_skip_i_o_s_v_z(letter):
    """``ord(c) - 55`` puts J..Y 1-4 too high (it counts I, O, S, V); weight 28 moves the check."""
    first17 = "9132050000000000" + letter
    code = first17 + ref_uscc_check(first17)
    assert uscc_check_char(first17) == code[17]
    assert validate_uscc(code).code == code


def test_check_char_is_the_complement_of_the_remainder():
    # CHARS[S mod 31] would give '3' for the worked example (2049 mod 31 = 3).
    assert ref_sum(WORKED_FIRST17) % 31 == 3
    assert uscc_check_char(WORKED_FIRST17) == "W" != REF_SYMBOLS[3]


def test_remainder_zero_maps_to_check_char_0():
    candidates = [WORKED_FIRST17[:16] + c for c in REF_SYMBOLS]
    zero = [b for b in candidates if ref_sum(b) % 31 == 0]
    assert zero, "no body with S mod 31 == 0 among the candidates"
    for first17 in zero:
        assert uscc_check_char(first17) == "0"
        assert validate_uscc(first17 + "0").code == first17 + "0"


@settings(max_examples=300)
@given(st.text(alphabet=string.digits + string.ascii_uppercase, min_size=8, max_size=8))
def test_org_check_uses_the_36_symbol_table(body8):
    assert org_code_check_char(body8) == ref_org_check(body8)


def test_org_check_table_differs_from_uscc_table_on_the_worked_example():
    # With the §1.2 table (M = 21) the worked body would give '0'; GB 11714 (M = 22) gives '8'.
    wrong_table = sum(REF_SYMBOLS.index(c) * w for c, w in zip("MA1B2C3D", REF_ORG_WEIGHTS))
    assert 11 - wrong_table % 11 == 11
    assert org_code_check_char("MA1B2C3D") == "8"


@pytest.mark.parametrize("r,expected", [(10, "X"), (11, "0")])
def test_org_check_special_remainders(r, expected):
    # Search the worked body's neighbourhood for a body whose r is 10 (→ X) or 11 (→ 0).
    bodies = [f"MA1B2C{a}{b}" for a in REF_SYMBOLS for b in REF_SYMBOLS]
    body = next(b for b in bodies
                if 11 - sum(ref_org_value(c) * w for c, w in zip(b, REF_ORG_WEIGHTS)) % 11 == r)
    assert org_code_check_char(body) == expected
    code = with_check("91320500" + body + expected)
    assert validate_uscc(code).warnings == []


# --- §1.6 normalisation and format errors --------------------------------------------------------

def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@pytest.mark.parametrize("raw", [
    WORKED_CODE.lower(),
    " 91320500MA1B2C3D8W ",
    "9132 0500 MA1B 2C3D 8W",
    "\t91320500ma1b2c3d8w\n",
    _fullwidth(WORKED_CODE),
    _fullwidth("91320500") + "\u3000" + _fullwidth("ma1b2c3d8w"),
])
def test_normalisation(raw):
    assert validate_uscc(raw).code == WORKED_CODE


@settings(max_examples=200)
@given(valid_uscc, st.data())
def test_normalisation_of_any_valid_code(code, data):
    parts = []
    for c in code:
        form = data.draw(st.sampled_from(["same", "lower", "fullwidth"]))
        parts.append(c.lower() if form == "lower" else _fullwidth(c) if form == "fullwidth" else c)
        parts.append(data.draw(st.sampled_from(["", "", " ", "\t", "\u3000"])))
    assert validate_uscc("".join(parts)).code == code


@pytest.mark.parametrize("raw", ["", WORKED_FIRST17, WORKED_CODE + "0", "9132"])
def test_wrong_length(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_uscc(raw)
    assert rule_of(excinfo) == "uscc.length"
    assert excinfo.value.message and excinfo.value.message_zh


@pytest.mark.parametrize("bad", list("IOSVZ") + ["-", "#", "é"])
def test_characters_outside_the_31_symbol_set(bad):
    raw = WORKED_CODE[:10] + bad + WORKED_CODE[11:]
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_uscc(raw)
    assert rule_of(excinfo) == "uscc.charset"
    assert bad.upper() in excinfo.value.message


@pytest.mark.parametrize("position", range(2, 8))
def test_region_positions_must_be_digits(position):
    raw = WORKED_CODE[:position] + "A" + WORKED_CODE[position + 1:]
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_uscc(raw)
    assert rule_of(excinfo) == "uscc.region"


def test_central_level_region_100000_is_accepted_in_a_uscc():
    code = with_check("12100000MA1B2C3D8")
    checked = validate_uscc(code)
    assert checked.code == code
    assert checked.region_code == "100000"
    assert checked.warnings == []


# --- §1.6 check-character policy -----------------------------------------------------------------

def test_check_char_mismatch_is_an_error():
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_uscc(WORKED_FIRST17 + "X")
    assert rule_of(excinfo) == "uscc.check_character"
    assert "'W'" in excinfo.value.message  # tells the officer what the standard gives


def test_officer_override_turns_the_mismatch_into_a_warning():
    # Shape of an early Fujian pilot code: positions 9-17 start with M000.
    first17 = "91350100M00012345"
    wrong = next(c for c in REF_SYMBOLS if c != ref_uscc_check(first17))
    with pytest.raises(InvalidIdentifier):
        validate_uscc(first17 + wrong)
    checked = validate_uscc(first17 + wrong, allow_check_mismatch=True)
    assert checked.code == first17 + wrong
    assert any(w.startswith("uscc.check_character") for w in checked.warnings)


@pytest.mark.parametrize("raw,rule", [
    (WORKED_FIRST17, "uscc.length"),
    ("91320500MA1B2C3DIW", "uscc.charset"),
    ("91A20500MA1B2C3D8W", "uscc.region"),
])
def test_override_does_not_bypass_format_rules(raw, rule):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_uscc(raw, allow_check_mismatch=True)
    assert rule_of(excinfo) == rule


def test_org_code_mismatch_is_only_a_warning():
    code = with_check(WORKED_FIRST17[:16] + "7")  # GB 11714 gives 8 for MA1B2C3D
    checked = validate_uscc(code)
    assert checked.code == code
    assert len(checked.warnings) == 1
    assert checked.warnings[0].startswith("uscc.org_code_check")
    assert "'8'" in checked.warnings[0]


@pytest.mark.parametrize("pair,known", [
    ("91", True), ("92", True), ("93", True), ("12", True), ("31", True), ("59", True),
    ("A1", True), ("N3", True), ("Y1", True),
    ("94", False), ("99", False), ("Y2", False), ("B1", False), ("01", False), ("1A", False),
])
def test_authority_category_pair(pair, known):
    checked = validate_uscc(with_check(pair + WORKED_FIRST17[2:]))
    category_warnings = [w for w in checked.warnings if w.startswith("uscc.category")]
    assert bool(category_warnings) == (not known)
    if not known:
        assert repr(pair) in category_warnings[0]


# --- GB/T 2260 region codes (§8.1) ---------------------------------------------------------------

@pytest.mark.parametrize("prefix", [f"{n:02d}" for n in range(100)])
def test_region_province_prefixes(prefix):
    code = prefix + "0100"
    if prefix in RULES_PROVINCES:
        assert validate_region_code(code) == code
    else:
        with pytest.raises(InvalidIdentifier) as excinfo:
            validate_region_code(code)
        assert rule_of(excinfo) == "region_code.province"


def test_region_100000_is_not_a_province():
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_region_code("100000")
    assert rule_of(excinfo) == "region_code.province"


@pytest.mark.parametrize("raw", [" 140200 ", "１４０２００", "14 02 00"])
def test_region_normalisation(raw):
    assert validate_region_code(raw) == "140200"


@pytest.mark.parametrize("raw", ["", "14020", "1402000", "14020A", "14-200", "14٠٢٠٠"])
def test_region_format(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_region_code(raw)
    assert rule_of(excinfo) == "region_code.format"


@settings(max_examples=300)
@given(st.sampled_from(RULES_PROVINCES),
       st.text(alphabet=st.characters(categories=("Nd",)), min_size=4, max_size=4))
def test_accepted_region_codes_fit_the_event_contract(province, rest):
    """Whatever digits arrive, an accepted code is six ASCII digits (the payload pattern)."""
    try:
        code = validate_region_code(province + rest)
    except InvalidIdentifier:
        return
    assert re.fullmatch(REGION_PATTERN, code)


# --- GB/T 4754-2017 industry codes (§8.2) --------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("C3911", ("C3911", "C")),
    ("3911", ("C3911", "C")),
    ("c3911", ("C3911", "C")),
    (" C 3911 ", ("C3911", "C")),
    ("Ｃ３９１１", ("C3911", "C")),
    ("C39", ("C39", "C")),
    ("391", ("C391", "C")),
    ("6511", ("I6511", "I")),
    ("I65", ("I65", "I")),
    ("F5211", ("F5211", "F")),
    ("5211", ("F5211", "F")),
])
def test_industry_code_accepted(raw, expected):
    assert validate_industry_code(raw) == expected


@pytest.mark.parametrize("section,division", [
    (s, d) for s, (lo, hi) in RULES_SECTIONS.items() for d in sorted({lo, hi})])
def test_industry_division_boundaries(section, division):
    digits = f"{division:02d}11"
    assert validate_industry_code(digits) == (section + digits, section)
    assert validate_industry_code(section + digits) == (section + digits, section)


@pytest.mark.parametrize("raw", [
    "G6511",  # 65 is I (software & IT services)
    "F5311",  # 2002 letters: F was transport; 53 is G in 2017
    "H5211",  # 2002 letters: H was wholesale/retail; 52 is F in 2017
])
def test_industry_section_mismatch(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_industry_code(raw)
    assert rule_of(excinfo) == "industry_code.section_mismatch"


@pytest.mark.parametrize("raw", ["98", "99", "00", "9811", "C0011", "T98"])
def test_industry_division_does_not_exist(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_industry_code(raw)
    assert rule_of(excinfo) == "industry_code.division"


@pytest.mark.parametrize("raw", ["U3911", "Z01"])
def test_industry_unknown_section_letter(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_industry_code(raw)
    assert rule_of(excinfo) == "industry_code.section"


@pytest.mark.parametrize("raw", ["", "3", "39111", "C39111", "C3A11", "3٩11", "C-39"])
def test_industry_format(raw):
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate_industry_code(raw)
    assert rule_of(excinfo) == "industry_code.format"


@settings(max_examples=300)
@given(st.sampled_from(["", *RULES_SECTIONS]),
       st.text(alphabet=st.characters(categories=("Nd",)), min_size=2, max_size=4))
def test_accepted_industry_codes_fit_the_event_contract(letter, digits):
    try:
        code, section = validate_industry_code(letter + digits)
    except InvalidIdentifier:
        return
    assert re.fullmatch(INDUSTRY_PATTERN, code)
    assert code.startswith(section)


def test_section_letter_alone_fits_the_event_contract():
    code, section = validate_industry_code("C")
    assert section == "C"
    assert re.fullmatch(INDUSTRY_PATTERN, code)
