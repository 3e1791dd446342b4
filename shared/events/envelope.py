"""CloudEvents 1.0 envelope in Kafka *binary* mode: ``ce_*`` headers, the JSON data as the body.

Any CloudEvents SDK, a bank's Java consumer or confluent-kafka reads it without our code.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_REQUIRED = ("id", "source", "type", "specversion")


class EnvelopeError(ValueError):
    """A message is not a well-formed CloudEvent of ours (permanent: goes to the DLQ)."""


@dataclass
class CloudEvent:
    type: str
    source: str
    subject: str
    data: dict[str, Any]
    dataschema: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds")
                      .replace("+00:00", "Z"))
    correlationid: str | None = None
    datacontenttype: str = CONTENT_TYPE
    specversion: str = SPEC_VERSION

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers for binary content mode (CloudEvents Kafka protocol binding §3.2)."""
        attrs = {
            "ce_specversion": self.specversion, "ce_id": self.id, "ce_source": self.source,
            "ce_type": self.type, "ce_subject": self.subject, "ce_time": self.time,
            "ce_dataschema": self.dataschema,
        }
        if self.correlationid:
            attrs["ce_correlationid"] = self.correlationid
        out = [(k, v.encode()) for k, v in attrs.items()]
        out.append(("content-type", self.datacontenttype.encode()))
        return out

    def body(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_kafka(cls, headers: list[tuple[str, bytes]] | tuple | None,
                   value: bytes | None) -> "CloudEvent":
        """Parse a binary-mode message; raises :class:`EnvelopeError` with the reason."""
        attrs: dict[str, str] = {}
        for key, raw in headers or ():
            try:
                text = raw.decode() if raw is not None else ""
            except UnicodeDecodeError as exc:
                raise EnvelopeError(f"header {key!r} is not UTF-8") from exc
            if key.startswith("ce_"):
                attrs[key[3:]] = text
            elif key == "content-type":
                attrs["datacontenttype"] = text
        missing = [a for a in _REQUIRED if not attrs.get(a)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents header(s): {', '.join('ce_' + m for m in missing)}")
        if attrs["specversion"] != SPEC_VERSION:
            raise EnvelopeError(f"unsupported ce_specversion {attrs['specversion']!r}")
        ctype = attrs.get("datacontenttype", CONTENT_TYPE)
        if not ctype.startswith(CONTENT_TYPE):
            raise EnvelopeError(f"unsupported content-type {ctype!r}; expected {CONTENT_TYPE}")
        try:
            data = json.loads(value or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("body must be a JSON object")
        return cls(type=attrs["type"], source=attrs["source"], subject=attrs.get("subject", ""),
                   data=data, dataschema=attrs.get("dataschema", ""), id=attrs["id"],
                   time=attrs.get("time", ""), correlationid=attrs.get("correlationid"),
                   datacontenttype=ctype)
