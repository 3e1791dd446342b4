"""Codes as matching's domains read them: canonical application numbers, GB/T 4754 industry
codes (and their division), the IPC subclass of a patent, and the ``|code|…`` columns that
prefix filters search. Bad input becomes a 422 naming the field."""

from __future__ import annotations

from shared.errors import InvalidInput
from shared.identifiers import (InvalidIdentifier, uscc_or_422, validate_application_no,
                                validate_industry_code)


def canonical_application_no(raw: str, field: str = "application_no") -> str:
    try:
        return validate_application_no(raw).canonical
    except InvalidIdentifier as exc:
        raise InvalidInput(field, exc.rule, exc.message, message_zh=exc.message_zh) from exc


def canonical_uscc(raw: str, field: str = "uscc") -> str:
    return uscc_or_422(raw, field)


def canonical_industry_codes(codes: list[str], field: str = "industry_codes") -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(codes):
        try:
            code, _ = validate_industry_code(raw)
        except InvalidIdentifier as exc:
            raise InvalidInput(f"{field}[{i}]", exc.rule, exc.message,
                               message_zh=exc.message_zh) from exc
        if code not in out:
            out.append(code)
    return out


def industry_division(code: str | None) -> str | None:
    """``C3985`` → ``39`` (the GB/T 4754 division), None for a bare section letter."""
    digits = (code or "").lstrip("ABCDEFGHIJKLMNOPQRST")
    return digits[:2] if len(digits) >= 2 else None


def ipc_subclass(codes: list[str] | None) -> str | None:
    """The main IPC code's subclass (``H01M 10/0525`` → ``H01M``)."""
    main = "".join((codes or [""])[0].split()).upper()
    return main[:4] if len(main) >= 4 else None


def code_index(codes: list[str]) -> str:
    return "|" + "|".join("".join(c.split()).upper() for c in codes) + "|" if codes else ""


def search_prefix(raw: str, field: str) -> str:
    text = "".join(raw.split()).upper()
    if not text or any(not (c.isascii() and (c.isalnum() or c == "/")) for c in text):
        raise InvalidInput(field, f"{field.split('.')[-1]}.format",
                           "letters, digits and '/' only (a code or its prefix)",
                           message_zh="只能包含字母、数字和 /")
    return text
