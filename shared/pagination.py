"""Keyset cursors: opaque to clients, the last key of the page inside."""

from __future__ import annotations

import base64
import binascii
import json

from shared.errors import InvalidInput


def encode_cursor(last_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_key}).encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    """The key to continue after, or None for the first page; 422 for a cursor not ours."""
    if not cursor:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"]
        if not isinstance(after, str):
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("query.cursor", "cursor.invalid",
                           "not a cursor returned by this API (use next_cursor as given)",
                           message_zh="无效的分页游标") from exc
