"""Webhook signatures: a known vector (computed independently with ``openssl dgst -hmac``), the
verifier a bank copies, and the retry schedule."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.financing.webhooks.dispatcher import backoff_s
from services.financing.webhooks.signing import (SignatureError, headers, new_secret, secret_key,
                                                 sign, verify)

# Key bytes 00 01 … 1f; the expected digest comes from:
#   printf '%s' "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f
SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
WEBHOOK_ID = "d8b1c3a4-5e6f-4a70-8b9c-0d1e2f3a4b5c"
TIMESTAMP = 1767225600
BODY = (b'{"specversion":"1.0","type":"whitelist.entry_added",'
        b'"data":{"uscc":"91140200MA0K2B3C4D"}}')
EXPECTED = "v1=4cd3f654cbc545c72b05f1e98435b2333ac9d38d1b46caafe5c760ef0d3a4018"


def test_known_vector():
    assert secret_key(SECRET) == bytes(range(32))
    assert sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY) == EXPECTED


def test_headers_carry_id_timestamp_and_signature():
    sent = headers(SECRET, WEBHOOK_ID, BODY, now=TIMESTAMP + 0.9)
    assert sent == {"Webhook-Id": WEBHOOK_ID, "Webhook-Timestamp": str(TIMESTAMP),
                    "Webhook-Signature": EXPECTED}


def test_verify_accepts_the_signed_request_in_any_header_case():
    sent = {k.lower(): v for k, v in headers(SECRET, WEBHOOK_ID, BODY, now=TIMESTAMP).items()}
    verify(SECRET, sent, BODY, now=TIMESTAMP + 10)


@pytest.mark.parametrize("tamper", [
    lambda h, b: (h, b.replace(b"MA0K2B3C4D", b"MA0K2B3C4E")),          # body changed
    lambda h, b: (h, b + b" "),                                           # re-serialised
    lambda h, b: ({**h, "Webhook-Id": "other"}, b),                       # id swapped
    lambda h, b: ({**h, "Webhook-Timestamp": str(TIMESTAMP + 1)}, b),     # timestamp moved
    lambda h, b: ({**h, "Webhook-Signature": "v1=" + "0" * 64}, b),       # forged
    lambda h, b: ({**h, "Webhook-Signature": EXPECTED.replace("v1=", "v2=")}, b),
    lambda h, b: ({k: v for k, v in h.items() if k != "Webhook-Signature"}, b),
])
def test_verify_rejects_tampering(tamper):
    sent, body = tamper(headers(SECRET, WEBHOOK_ID, BODY, now=TIMESTAMP), BODY)
    with pytest.raises(SignatureError):
        verify(SECRET, sent, body, now=TIMESTAMP)


def test_verify_rejects_another_secret_and_stale_timestamps():
    sent = headers(SECRET, WEBHOOK_ID, BODY, now=TIMESTAMP)
    with pytest.raises(SignatureError):
        verify(new_secret(), sent, BODY, now=TIMESTAMP)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, sent, BODY, now=TIMESTAMP + 301)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, sent, BODY, now=TIMESTAMP - 301)
    verify(SECRET, sent, BODY, now=TIMESTAMP + 300)


def test_one_matching_signature_among_several_is_enough():
    sent = headers(SECRET, WEBHOOK_ID, BODY, now=TIMESTAMP)
    sent["Webhook-Signature"] = "v1=" + "ab" * 32 + " " + sent["Webhook-Signature"]
    verify(SECRET, sent, BODY, now=TIMESTAMP)


def test_new_secrets_are_32_random_bytes():
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_")
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 32


@given(body=st.binary(max_size=2000), webhook_id=st.uuids().map(str),
       timestamp=st.integers(min_value=0, max_value=2**33))
def test_round_trip_and_single_bit_flip(body, webhook_id, timestamp):
    sent = headers(SECRET, webhook_id, body, now=timestamp)
    verify(SECRET, sent, body, now=timestamp)
    if body:
        flipped = bytes([body[0] ^ 1]) + body[1:]
        with pytest.raises(SignatureError):
            verify(SECRET, sent, flipped, now=timestamp)


# --- retry schedule ----------------------------------------------------------------------------

def test_backoff_doubles_with_equal_jitter_and_a_cap():
    assert [backoff_s(n, 5, 3600, rand=0) for n in (1, 2, 3, 4)] == [2.5, 5, 10, 20]
    assert [backoff_s(n, 5, 3600, rand=1) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_s(30, 5, 3600, rand=1) == 3600
    assert backoff_s(30, 5, 3600, rand=0) == 1800


@given(attempt=st.integers(1, 60), base=st.floats(0.01, 100), cap=st.floats(0.01, 10_000),
       rand=st.floats(0, 1))
def test_backoff_stays_between_half_and_full_delay(attempt, base, cap, rand):
    full = min(cap, base * 2 ** (attempt - 1))
    assert full / 2 <= backoff_s(attempt, base, cap, rand=rand) <= full
