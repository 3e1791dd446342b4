"""Identifiers: the Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

Rules: ../shared/domain/RULES.md §1. Two different value tables are involved: the 31-symbol set
of GB 32100 for the check character at position 18, and the 36-symbol table of GB 11714-1997
for the organisation-code check character at position 17.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

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
