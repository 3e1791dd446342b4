"""IPC codes: normalisation of hints and hierarchy proximity between two lists of codes.

An IPC symbol reads section (H), class (H01), subclass (H01M), main group (H01M 10) and subgroup
(H01M 10/0525). Users type hints loosely (``h01m10/0525``, ``H01M0010/0525``, ``H01M 10/0525
(2010.01)``, just ``H01M``); ``normalise_hint`` turns them into the canonical spelling or None.
Proximity is the deepest level two codes share; a code given only to the subclass can match at
subclass level at most. The figure for each level comes from the matching pack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from services.matching.engine.packs import IPC_LEVELS, MatchingPack

_CODE = re.compile(r"^([A-H])(?:(\d{2})(?:([A-Z])(?:(\d{1,4})(?:/(\d{1,6}))?)?)?)?$")
_VERSION_SUFFIX = re.compile(r"\(\d{4}\.\d{2}\)$")

LEVEL_ZH = {"subgroup": "同小组", "main_group": "同大组", "subclass": "同小类", "class": "同大类",
            "section": "同部", "none": "无共同分类"}


@lru_cache(maxsize=65536)
def normalise_hint(code: str) -> str | None:
    """``"h01m10/0525"`` → ``"H01M 10/0525"``; section, class, subclass or group alone are
    accepted (``"H"``, ``"H01"``, ``"H01M"``, ``"H01M 10"``); anything else → None."""
    if not isinstance(code, str):
        return None
    text = "".join(code.upper().split())
    text = _VERSION_SUFFIX.sub("", text)
    m = _CODE.match(text)
    if not m:
        return None
    section, klass, subclass, group, subgroup = m.groups()
    out = section
    if klass:
        out += klass
    if subclass:
        out += subclass
    if group:
        out += f" {int(group)}"
        if subgroup:
            out += f"/{subgroup if len(subgroup) > 1 else subgroup + '0'}"
    return out


@lru_cache(maxsize=65536)
def levels(code: str) -> tuple[tuple[str, str], ...]:
    """(level, key) pairs of a normalised code, finest first: the keys it shares with others."""
    keys: list[tuple[str, str]] = []
    head, _, tail = code.partition(" ")
    if tail:
        if "/" in tail:
            keys.append(("subgroup", code))
        keys.append(("main_group", f"{head} {tail.split('/')[0]}"))
    if len(head) >= 4:
        keys.append(("subclass", head[:4]))
    if len(head) >= 3:
        keys.append(("class", head[:3]))
    keys.append(("section", head[:1]))
    return tuple(keys)


def normalise_all(codes: Sequence[str]) -> tuple[str, ...]:
    """The valid codes of ``codes``, normalised, in order, without duplicates."""
    out: dict[str, None] = {}
    for code in codes or ():
        n = normalise_hint(code)
        if n is not None:
            out[n] = None
    return tuple(out)


def best_level(query_codes: Sequence[str], doc_codes: Sequence[str]) -> tuple[str, str, str]:
    """(level, query code, doc code) of the closest pair; ("none", "", "") when none shares
    even the section. Codes must be normalised."""
    doc_keys: dict[str, dict[str, str]] = {}
    for d in doc_codes:
        for level, key in levels(d):
            doc_keys.setdefault(level, {}).setdefault(key, d)
    for level in IPC_LEVELS:  # finest first: the first hit is the best
        found = doc_keys.get(level)
        if not found:
            continue
        for q in query_codes:
            for q_level, key in levels(q):
                if q_level == level and key in found:
                    return level, q, found[key]
    return "none", "", ""


def ipc_proximity(query_codes: Sequence[str], doc_codes: Sequence[str], *,
                  pack: MatchingPack | None = None) -> tuple[float, str]:
    """Best pair over the two lists: (the pack's figure for the level, the level name)."""
    if pack is None:
        from services.matching.engine.packs import current

        pack = current()
    level, _, _ = best_level(normalise_all(query_codes), normalise_all(doc_codes))
    return pack.data.ipc_levels.level(level), level
