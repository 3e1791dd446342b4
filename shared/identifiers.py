"""Identifiers: the Unified Social Credit Code (统一社会信用代码, GB 32100-2015), Chinese patent
application numbers (专利申请号, ZC 0006-2003) and IPC symbols.

Rules: ../shared/domain/RULES.md §1 and §2. Two different value tables are involved in the USCC:
the 31-symbol set of GB 32100 for the check character at position 18, and the 36-symbol table of
GB 11714-1997 for the organisation-code check character at position 17.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

_CHINA = ZoneInfo("Asia/Shanghai")

#: GB 32100 §1.2: digits and upper-case letters except I, O, S, V, Z; value = index.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
#: W_i = 3^(i-1) mod 31 for i = 1..17.
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

#: GB 11714-1997: 0-9 then A=10 … Z=35 (all 26 letters).
_ORG_VALUE = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: §1.3 registration authority (position 1) → allowed entity categories (position 2).
USCC_CATEGORIES: dict[str, dict[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常驻新闻机构", "9": "其他"},
    "3": {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所", "4": "司法鉴定机构",
          "5": "仲裁委员会", "9": "其他"},
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "6": {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
          "9": "其他"},
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织",
          "9": "其他"},
    "Y": {"1": "其他"},
}


class InvalidIdentifier(ValueError):
    """An identifier broke a rule; ``rule`` is a stable machine name, ``message`` a sentence."""

    def __init__(self, rule: str, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.message_zh = message_zh


@dataclass(frozen=True)
class UsccCheck:
    """Outcome of validating a USCC: the canonical code plus non-fatal warnings."""

    code: str
    warnings: list[str] = field(default_factory=list)

    @property
    def region_code(self) -> str:
        return self.code[2:8]

    @property
    def category(self) -> str:
        return self.code[:2]


def normalise(raw: str) -> str:
    """Trim, drop internal white space, fold full-width characters, upper-case (§1.6 step 1)."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(text.split()).upper()


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character (position 18) for 17 characters of the 31-symbol set."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    """The GB 11714-1997 check character for the 8-character organisation-code body."""
    total = sum(_ORG_VALUE[c] * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def validate_uscc(raw: str, *, allow_check_mismatch: bool = False) -> UsccCheck:
    """Validate and canonicalise a USCC (§1.6). Raises :class:`InvalidIdentifier`.

    ``allow_check_mismatch`` is the officer override for lawful legacy codes that fail the
    position-18 check (early Fujian pilot codes); the mismatch is then returned as a warning.
    """
    code = normalise(raw)
    if len(code) != 18:
        raise InvalidIdentifier("uscc.length", f"a USCC has 18 characters, got {len(code)}",
                                f"统一社会信用代码应为18位，实际为{len(code)}位")
    bad = sorted({c for c in code if c not in _USCC_VALUE})
    if bad:
        raise InvalidIdentifier(
            "uscc.charset",
            f"characters {''.join(bad)!r} are not in the GB 32100 set (digits and letters "
            "except I, O, S, V, Z)",
            f"含有不允许的字符 {''.join(bad)}（不使用 I、O、S、V、Z）")
    if not code[2:8].isdigit():
        raise InvalidIdentifier("uscc.region", "positions 3-8 (registering authority's "
                                "administrative division code) must be digits",
                                "第3-8位登记管理机关行政区划码应为数字")
    warnings: list[str] = []
    if code[1] not in USCC_CATEGORIES.get(code[0], {}):
        warnings.append(f"uscc.category: unknown authority/category pair {code[:2]!r}")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        message = (f"check character (position 18) is {code[17]!r} but GB 32100 gives "
                   f"{expected!r}")
        if not allow_check_mismatch:
            raise InvalidIdentifier("uscc.check_character", message,
                                    f"第18位校验码应为 {expected}，实际为 {code[17]}")
        warnings.append(f"uscc.check_character overridden: {message}")
    body, org_check = code[8:16], code[16]
    if all(c in _ORG_VALUE for c in body) and org_code_check_char(body) != org_check:
        warnings.append(f"uscc.org_code_check: position 17 is {org_check!r}, GB 11714 gives "
                        f"{org_code_check_char(body)!r}")
    return UsccCheck(code=code, warnings=warnings)


def uscc_or_422(raw: str, field: str = "uscc") -> str:
    """The canonical USCC of a request field, or a 422 problem naming ``field`` and the rule."""
    from shared.errors import InvalidInput

    try:
        return validate_uscc(raw).code
    except InvalidIdentifier as exc:
        raise InvalidInput(field, exc.rule, exc.message,
                           message_zh=exc.message_zh or None) from exc


#: GB/T 2260 province-level prefixes (RULES §8.1); 71/81/82 are listed but not mainland.
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}


def validate_region_code(raw: str) -> str:
    """A six-digit GB/T 2260 code whose province prefix exists; returns it unchanged."""
    code = normalise(raw)
    # str.isdigit() is true for Arabic-Indic and other Unicode digits, which NFKC keeps.
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        raise InvalidIdentifier("region_code.format", "a GB/T 2260 code has 6 digits",
                                "行政区划代码应为6位数字")
    if code[:2] not in PROVINCES:
        raise InvalidIdentifier("region_code.province", f"{code[:2]!r} is not a province-level "
                                "prefix of GB/T 2260", f"省级代码 {code[:2]} 不存在")
    return code


#: GB/T 4754-2017 sections and their division ranges (RULES §8.2).
INDUSTRY_SECTIONS: dict[str, tuple[int, int]] = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72),
    "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90),
    "S": (91, 96), "T": (97, 97),
}


def validate_industry_code(raw: str) -> tuple[str, str]:
    """Canonical GB/T 4754-2017 code (``C3911``) and its section letter.

    Accepts a section letter alone, or 2-4 digits with the section letter optional; a letter
    that does not match the division (2002-edition letters, say) is rejected.
    """
    code = normalise(raw)
    letter, digits = (code[0], code[1:]) if code[:1].isalpha() else ("", code)
    if letter and letter not in INDUSTRY_SECTIONS:
        raise InvalidIdentifier("industry_code.section", f"{letter!r} is not a GB/T 4754-2017 "
                                "section (A-T)", f"门类代码 {letter} 不存在")
    if not digits:
        if not letter:
            raise InvalidIdentifier("industry_code.format", "empty industry code", "行业代码为空")
        return letter, letter
    if not (digits.isascii() and digits.isdigit()) or len(digits) not in (2, 3, 4):
        raise InvalidIdentifier("industry_code.format", "a GB/T 4754 code is a section letter "
                                "and/or 2-4 digits (division, group, class)",
                                "行业代码应为门类字母和/或2-4位数字")
    division = int(digits[:2])
    section = next((s for s, (lo, hi) in INDUSTRY_SECTIONS.items() if lo <= division <= hi), None)
    if section is None:
        raise InvalidIdentifier("industry_code.division", f"division {digits[:2]} does not exist "
                                "in GB/T 4754-2017", f"大类 {digits[:2]} 不存在")
    if letter and letter != section:
        raise InvalidIdentifier("industry_code.section_mismatch",
                                f"division {digits[:2]} belongs to section {section}, not "
                                f"{letter} (2002-edition letters?)",
                                f"大类 {digits[:2]} 属于门类 {section}，不是 {letter}")
    return section + digits, section


# --- Chinese patent application numbers (RULES.md §2) --------------------------------------------

#: §2.1: the type digit (5th of 12, 3rd of 8) → kind of application.
PATENT_KINDS: dict[str, str] = {
    "1": "invention", "2": "utility_model", "3": "design",
    "8": "pct_invention", "9": "pct_utility_model",
}
PATENT_KIND_ZH = {"invention": "发明", "utility_model": "实用新型", "design": "外观设计",
                  "pct_invention": "进入中国国家阶段的PCT发明",
                  "pct_utility_model": "进入中国国家阶段的PCT实用新型"}
#: ZC 0006-2003 weights on digits 1..12; the first eight are the pre-2003 weights (§2.2).
APPLICATION_NO_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# re.ASCII: \d would otherwise match Arabic-Indic and other digits that NFKC keeps.
_APPLICATION_NO = re.compile(r"^(?P<digits>\d{12}|\d{8})(?P<dot>\.?)(?P<check>[0-9X])$", re.ASCII)
#: §2.1 presentation: single spaces only between year, type and serial (after an optional prefix).
_STANDARD_SPACING = re.compile(r"^(?:(?:ZL|CN) ?)?(?:\d{4} ?\d ?\d{7}|\d{2} ?\d ?\d{5})\.?[0-9X]?$",
                               re.ASCII)


@dataclass(frozen=True)
class PatentNumber:
    """A validated application number (申请号) in canonical form, e.g. ``202410123456.0``.

    ``canonical`` is 12 digits, a dot and the check char (since 2003-10-01); 8 digits, a dot and
    the check char (1989 – Sept 2003); or 8 bare digits (1985 – 1988, which had no check char).
    """

    canonical: str
    kind: str
    year: int
    warnings: list[str] = field(default_factory=list)

    @property
    def digits(self) -> str:
        return self.canonical.split(".")[0]

    @property
    def check_char(self) -> str | None:
        return self.canonical.split(".")[1] if "." in self.canonical else None

    @property
    def patent_no(self) -> str:
        """The patent number printed on certificates (专利号): ``ZL`` + the application number."""
        return f"ZL{self.canonical}"

    @property
    def is_invention(self) -> bool:
        return self.kind in ("invention", "pct_invention")


def application_check_char(digits: str) -> str:
    """The check char of a 12-digit (ZC 0006-2003) or 8-digit (1989-2003) application number."""
    if len(digits) not in (8, 12) or not (digits.isascii() and digits.isdigit()):
        raise ValueError("8 or 12 ASCII digits expected")
    r = sum(int(d) * w for d, w in zip(digits, APPLICATION_NO_WEIGHTS)) % 11
    return "X" if r == 10 else str(r)


def _patent_text(raw: str) -> str:
    # NFKC folds full-width digits, letters, dot and spaces; the ideographic full stop is not
    # folded by NFKC but is what a Chinese IME types for a dot.
    return unicodedata.normalize("NFKC", raw).replace("。", ".").strip().upper()


def validate_application_no(raw: str, *, today: date | None = None) -> PatentNumber:
    """Validate and canonicalise a Chinese patent application number (RULES.md §2.1, §2.2).

    Accepts the messy forms found in real data: a ``ZL`` (patent number) or ``CN`` prefix,
    spaces, a missing dot before the check char, full-width characters, lower-case ``x``.
    Raises :class:`InvalidIdentifier`; a wrong check char names the one expected.
    """
    today = today or datetime.now(_CHINA).date()
    text = _patent_text(raw or "")
    if not text:
        raise InvalidIdentifier("application_no.empty", "the application number is empty",
                                "申请号为空")
    warnings: list[str] = []
    if any(c.isspace() for c in text) and not _STANDARD_SPACING.match(" ".join(text.split())):
        warnings.append("application_no.spacing: spaces inside the serial or around the dot "
                        "are not standard (ZC 0006-2003); they were removed")
    compact = "".join(text.split())
    for prefix in ("ZL", "CN"):
        if compact.startswith(prefix):
            compact = compact[len(prefix):]
            break
    match = _APPLICATION_NO.match(compact)
    if match is None:
        bare = compact.rstrip(".")
        if bare.isascii() and bare.isdigit() and len(bare) == 12:
            expected = application_check_char(bare)
            raise InvalidIdentifier(
                "application_no.check_char_missing",
                f"the check character is missing; ZC 0006-2003 gives {expected!r} "
                f"({bare}.{expected})",
                f"缺少校验位，按 ZC 0006-2003 应为 {expected}（{bare}.{expected}）")
        if bare.isascii() and bare.isdigit() and len(bare) == 8:
            match = None  # handled below: valid only for 1985-1988
        else:
            raise InvalidIdentifier(
                "application_no.format",
                "an application number is 12 digits, a dot and a check char (202410123456.0), "
                "or 8 digits and a check char before Oct 2003 (98101234.5); a ZL/CN prefix, "
                "spaces and full-width characters are accepted",
                "申请号应为12位数字加小数点和校验位（如 202410123456.0），2003年10月前为8位数字加校验位")
        digits, check = bare, None
    else:
        digits, check = match["digits"], match["check"]
    if len(digits) == 12:
        year = int(digits[:4])
        kind_digit = digits[4]
        if not 2003 <= year <= today.year:
            raise InvalidIdentifier(
                "application_no.year",
                f"year {year} is outside 2003-{today.year} (12-digit numbers began on 2003-10-01)",
                f"申请年份 {year} 不在 2003-{today.year} 范围内")
    else:
        yy = int(digits[:2])
        if not (yy >= 85 or yy <= 3):
            raise InvalidIdentifier(
                "application_no.year",
                f"year {digits[:2]!r} of an 8-digit number must be 85-99 or 00-03 (1985 - 2003)",
                f"8位申请号的年份 {digits[:2]} 应为 85-99 或 00-03")
        year = 1900 + yy if yy >= 85 else 2000 + yy
        kind_digit = digits[2]
    if kind_digit not in PATENT_KINDS:
        raise InvalidIdentifier(
            "application_no.kind",
            f"type digit {kind_digit!r} is not 1 (invention), 2 (utility model), 3 (design), "
            "8 (PCT invention) or 9 (PCT utility model)",
            f"申请种类号 {kind_digit} 无效（应为1、2、3、8、9）")
    kind = PATENT_KINDS[kind_digit]
    if len(digits) == 8 and year <= 1988:
        # §2.2: 1985-1988 numbers carried no check char.
        if check is not None:
            warnings.append(f"application_no.no_check_char: numbers of {year} carry no check "
                            f"character; {check!r} was dropped")
        return PatentNumber(canonical=digits, kind=kind, year=year, warnings=warnings)
    expected = application_check_char(digits)
    if check is None:
        raise InvalidIdentifier(
            "application_no.check_char_missing",
            f"the check character is missing; the rule gives {expected!r} ({digits}.{expected})",
            f"缺少校验位，应为 {expected}（{digits}.{expected}）")
    if check != expected:
        message = (f"check character is {check!r} but "
                   f"{'ZC 0006-2003' if len(digits) == 12 else 'the 8-digit rule'} gives "
                   f"{expected!r} ({digits}.{expected})")
        if len(digits) == 8 and year < 1993:
            # §2.2: one published 1989 example does not satisfy the rule; warn, keep as given.
            warnings.append(f"application_no.check_char (pre-1993, kept): {message}")
        else:
            raise InvalidIdentifier("application_no.check_char", message,
                                    f"校验位为 {check}，按规则应为 {expected}（{digits}.{expected}）")
    return PatentNumber(canonical=f"{digits}.{check}", kind=kind, year=year, warnings=warnings)


# --- International Patent Classification symbols ------------------------------------------------

_IPC = re.compile(r"^(?P<section>[A-Z])(?P<cls>\d{2})(?P<subclass>[A-Z])"
                  r"(?P<main>\d{1,4})/(?P<sub>\d{2,6})$", re.ASCII)
#: A trailing IPC version indicator as printed by CNIPA, e.g. ``H01M10/0525(2010.01)``.
_IPC_VERSION = re.compile(r"\(\d{4}\.\d{2}\)$", re.ASCII)


def validate_ipc(raw: str) -> str:
    """Validate an IPC symbol and return it as ``H01M 10/0525`` (one space before the group).

    Section A-H, class 2 digits, subclass letter, main group 1-4 digits, '/', subgroup 2-6
    digits. Spacing, full-width characters, lower case and a trailing version indicator
    ``(2010.01)`` are normalised; leading zeros of the main group are dropped.
    """
    text = "".join(unicodedata.normalize("NFKC", raw or "").upper().split())
    text = _IPC_VERSION.sub("", text)
    match = _IPC.match(text)
    if match is None:
        raise InvalidIdentifier(
            "ipc.format",
            f"{raw!r} is not an IPC symbol: section letter, 2-digit class, subclass letter, "
            "main group of 1-4 digits, '/', subgroup of 2-6 digits (e.g. H01M 10/0525)",
            "IPC分类号格式应为：部、2位大类、小类字母、1-4位大组、/、2-6位小组（如 H01M 10/0525）")
    if match["section"] not in "ABCDEFGH":
        raise InvalidIdentifier(
            "ipc.section", f"section {match['section']!r} does not exist (IPC sections are A-H)",
            f"IPC部 {match['section']} 不存在（应为A-H）")
    if match["cls"] == "00" or int(match["main"]) == 0:
        raise InvalidIdentifier("ipc.format",
                                f"{raw!r}: class and main group start at 01 and 1",
                                "IPC大类和大组不能为0")
    return (f"{match['section']}{match['cls']}{match['subclass']} "
            f"{int(match['main'])}/{match['sub']}")
