"""Keyset cursors: opaque to clients, the last key of the page inside."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from shared.errors import InvalidInput


def _invalid() -> InvalidInput:
    return InvalidInput("query.cursor", "cursor.invalid",
                        "not a cursor returned by this API (use next_cursor as given)",
                        message_zh="无效的分页游标")


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
        raise _invalid() from exc


def encode_time_cursor(at: datetime, last_id: str) -> str:
    """A cursor for lists ordered by (timestamp, id) descending: ``<ISO time>|<id>``."""
    return encode_cursor(f"{at.isoformat()}|{last_id}")


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """(timestamp, id) to continue after, or None for the first page. 422 ``cursor.invalid``
    for anything :func:`encode_time_cursor` did not make: no ``|``, an empty id, a time that is
    not ISO 8601, or one without a UTC offset (a naive time cannot be compared with the
    timezone-aware columns, and would be a 500 at bind time)."""
    after = decode_cursor(cursor)
    if after is None:
        return None
    stamp, sep, last_id = after.partition("|")
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise _invalid() from exc
    if not sep or not last_id or at.tzinfo is None or at.utcoffset() is None:
        raise _invalid()
    return at, last_id


async def newest_first(session, query, at_column, id_column, cursor: str | None, limit: int
                       ) -> tuple[list, str | None]:
    """One page of ``query`` (a select of one entity) ordered by (``at_column``, ``id_column``)
    descending, continuing after ``cursor``; returns the rows and the next cursor (None on the
    last page)."""
    after = decode_time_cursor(cursor)
    if after is not None:
        at, last_id = after
        query = query.where((at_column < at) | ((at_column == at) & (id_column < last_id)))
    rows = list((await session.scalars(
        query.order_by(at_column.desc(), id_column.desc()).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_time_cursor(getattr(last, at_column.key),
                                            getattr(last, id_column.key))
