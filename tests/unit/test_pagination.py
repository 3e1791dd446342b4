"""Keyset cursors (shared/pagination.py): a cursor we made round-trips; anything else, including
a forged one whose time has no UTC offset (a 500 at bind time before), is a 422 naming the
query field and the rule ``cursor.invalid``."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.errors import InvalidInput
from shared.pagination import decode_time_cursor, encode_cursor, encode_time_cursor


def forged(after: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def test_a_time_cursor_round_trips_with_its_offset():
    at = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    assert decode_time_cursor(encode_time_cursor(at, "abc")) == (at, "abc")
    east = datetime(2026, 3, 1, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    got, last_id = decode_time_cursor(encode_time_cursor(east, "x|y"))
    assert got == east and got.utcoffset() == timedelta(hours=8) and last_id == "x|y"
    assert decode_time_cursor(None) is None and decode_time_cursor("") is None


@pytest.mark.parametrize("cursor", [
    encode_cursor("2020-01-01T00:00:00|x"),          # naive time: the 500 of the review
    encode_cursor("2020-01-01T00:00:00+00:00"),      # no id
    encode_cursor("2020-01-01T00:00:00+00:00|"),     # empty id
    encode_cursor("yesterday|x"),                    # not ISO 8601
    encode_cursor("2020-13-01T00:00:00+00:00|x"),    # no such month
    forged(12345), "not-base64!!", forged(None),
])
def test_anything_else_is_a_422_naming_the_cursor(cursor):
    with pytest.raises(InvalidInput) as caught:
        decode_time_cursor(cursor)
    problem = caught.value.to_problem("/v1/x")
    assert problem["status"] == 422
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("query.cursor",
                                                                     "cursor.invalid")]
