"""Webhook signatures (Standard Webhooks style), with a verifier a bank can copy.

Every delivery carries three headers:

- ``Webhook-Id``: the CloudEvent id. The same on every retry and replay of that event, so a
  receiver can drop duplicates with it.
- ``Webhook-Timestamp``: Unix time in whole seconds when this attempt was signed.
- ``Webhook-Signature``: ``v1=<hex>``, the lower-case hex HMAC-SHA256 of the UTF-8 string
  ``"{Webhook-Id}.{Webhook-Timestamp}.{body}"``, where ``body`` is the raw request body exactly as
  received (do not re-serialise the JSON) and the key is the 32 bytes the secret encodes: the
  secret is ``whsec_`` followed by those bytes in standard base64.

A receiver recomputes the HMAC, compares it in constant time, and rejects a timestamp more than a
few minutes from its clock (a captured request cannot be replayed later). This module uses the
standard library only: :func:`verify` is meant to be copied into a bank's receiver as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """The request is not signed by the holder of the secret (or too old / in the future)."""


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes from the OS CSPRNG, as ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_…`` secret encodes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)


def signed_content(webhook_id: str, timestamp: int | str, body: bytes) -> bytes:
    return f"{webhook_id}.{timestamp}.".encode() + body


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``Webhook-Signature`` header value for one attempt."""
    digest = hmac.new(secret_key(secret), signed_content(webhook_id, timestamp, body),
                      hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def headers(secret: str, webhook_id: str, body: bytes, *, now: float | None = None
            ) -> dict[str, str]:
    """The three signature headers of one delivery attempt."""
    timestamp = int(now if now is not None else time.time())
    return {"Webhook-Id": webhook_id, "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": sign(secret, webhook_id, timestamp, body)}


# --- copy from here into a receiver (standard library only) ----------------------------------

def verify(secret: str, headers: dict[str, str], body: bytes, *,
           tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None) -> None:
    """Raise :class:`SignatureError` unless ``body`` was signed with ``secret`` recently.

    ``headers`` maps header names to values (any case); ``body`` is the raw request body. Several
    signatures may be sent space-separated (``v1=<hex> v1=<hex>``); one match is enough.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    webhook_id = lower.get("webhook-id")
    timestamp = lower.get("webhook-timestamp")
    signature = lower.get("webhook-signature")
    if not (webhook_id and timestamp and signature):
        raise SignatureError("missing Webhook-Id, Webhook-Timestamp or Webhook-Signature")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError("Webhook-Timestamp is not an integer") from exc
    current = int(now if now is not None else time.time())
    if abs(current - sent_at) > tolerance_s:
        raise SignatureError(f"Webhook-Timestamp is {current - sent_at} s away from now "
                             f"(tolerance {tolerance_s} s)")
    if not secret.startswith("whsec_"):
        raise SignatureError("the secret must start with 'whsec_'")
    key = base64.b64decode(secret[len("whsec_"):])
    expected = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    for candidate in signature.split():
        version, _, value = candidate.partition("=")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise SignatureError("no Webhook-Signature matches the body")


# --- secrets at rest ----------------------------------------------------------------------------

SEALED_PREFIX = "fernet:"


def _fernet(keys: str):
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])


def seal(secret: str, keys: str | None) -> str:
    """What the database stores: the secret encrypted with the first key (Fernet: AES-128-CBC
    + HMAC-SHA256), or the secret itself when no key is configured (dev and test only)."""
    if not keys:
        return secret
    return SEALED_PREFIX + _fernet(keys).encrypt(secret.encode()).decode()


def unseal(stored: str, keys: str | None) -> str:
    """The signing secret back from the database; a sealed value needs one of the keys."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    if not keys:
        raise RuntimeError("a webhook secret is sealed but FINANCING_WEBHOOK_SECRET_KEY is unset")
    return _fernet(keys).decrypt(stored[len(SEALED_PREFIX):].encode()).decode()

