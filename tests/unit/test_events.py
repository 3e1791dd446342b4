"""CloudEvents binary-mode envelope, the event catalogue and its JSON Schemas, AsyncAPI document."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from services.registry.enterprises.events import enterprise_state
from services.registry.enterprises.models import Enterprise
from shared.events import asyncapi
from shared.events.catalogue import (
    CATALOGUE,
    TOPICS,
    SchemaViolation,
    dlq_topic,
    event_type,
    load_schema,
    validate_payload,
    version_of,
)
from shared.events.envelope import CloudEvent, EnvelopeError

REPO_ROOT = Path(__file__).resolve().parents[2]
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
USCC = "91320500MA1B2C3D8W"


def make_event(**overrides) -> CloudEvent:
    fields = dict(
        type="enterprise.registered", source="/ipbridge/registry", subject=USCC,
        data={"uscc": USCC, "name": "苏州示例科技有限公司", "revision": 1,
              "registered_at": "2025-01-02T03:04:05.678Z"},
        dataschema="urn:ipbridge:schema:enterprise.registered:v1",
    )
    return CloudEvent(**(fields | overrides))


def good_payload(**overrides) -> dict:
    return {"uscc": USCC, "name": "苏州示例科技有限公司", "region_code": "320500",
            "province_code": "32", "industry_code": "C3911", "ownership": "private",
            "founded_on": "2020-05-01", "revision": 1,
            "registered_at": "2025-01-02T03:04:05.678+00:00"} | overrides


# --- envelope ------------------------------------------------------------------------------------

def test_headers_are_binary_mode_cloudevents_attributes():
    event = make_event(correlationid="corr-1")
    headers = event.headers()
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in headers)
    as_dict = dict(headers)
    assert len(as_dict) == len(headers), "a header appears twice"
    assert as_dict == {
        "ce_specversion": b"1.0", "ce_id": event.id.encode(),
        "ce_source": b"/ipbridge/registry", "ce_type": b"enterprise.registered",
        "ce_subject": USCC.encode(), "ce_time": event.time.encode(),
        "ce_dataschema": b"urn:ipbridge:schema:enterprise.registered:v1",
        "ce_correlationid": b"corr-1", "content-type": b"application/json",
    }


def test_correlation_header_only_when_set():
    assert "ce_correlationid" not in dict(make_event().headers())


def test_defaults_unique_id_and_utc_time():
    a, b = make_event(), make_event()
    assert a.id != b.id
    uuid.UUID(a.id)
    assert a.time.endswith("Z")
    parsed = datetime.fromisoformat(a.time.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60


def test_body_is_the_json_data_in_utf8():
    event = make_event()
    body = event.body()
    assert json.loads(body.decode("utf-8")) == event.data
    assert "苏州示例科技有限公司".encode() in body  # not \u-escaped


@pytest.mark.parametrize("correlationid", [None, "corr-42"])
def test_round_trip(correlationid):
    event = make_event(correlationid=correlationid)
    parsed = CloudEvent.from_kafka(event.headers(), event.body())
    assert parsed == event


def test_from_kafka_accepts_tuple_headers_charset_and_ignores_foreign_headers():
    event = make_event()
    headers = [(k, v) for k, v in event.headers() if k != "content-type"]
    headers += [("content-type", b"application/json; charset=utf-8"),
                ("traceparent", b"00-abc-def-01")]
    parsed = CloudEvent.from_kafka(tuple(headers), event.body())
    assert parsed.data == event.data
    assert parsed.id == event.id
    assert parsed.datacontenttype.startswith("application/json")


def test_from_kafka_defaults_content_type_to_json():
    event = make_event()
    headers = [(k, v) for k, v in event.headers() if k != "content-type"]
    assert CloudEvent.from_kafka(headers, event.body()).data == event.data


def _replace(headers, key, value):
    out = [(k, v) for k, v in headers if k != key]
    return out if value is None else [*out, (key, value)]


@pytest.mark.parametrize("mutate,value,match", [
    ("ce_id", None, "ce_id"),
    ("ce_id", b"", "ce_id"),
    ("ce_source", None, "ce_source"),
    ("ce_type", None, "ce_type"),
    ("ce_specversion", None, "ce_specversion"),
    ("ce_specversion", b"0.3", "specversion"),
    ("content-type", b"text/plain", "content-type"),
    ("content-type", b"application/cloudevents+json", "content-type"),
    ("ce_subject", b"\xff\xfe", "UTF-8"),
])
def test_from_kafka_rejects_bad_headers(mutate, value, match):
    event = make_event()
    with pytest.raises(EnvelopeError, match=match):
        CloudEvent.from_kafka(_replace(event.headers(), mutate, value), event.body())


@pytest.mark.parametrize("headers", [None, []])
def test_from_kafka_rejects_missing_headers(headers):
    with pytest.raises(EnvelopeError, match="missing"):
        CloudEvent.from_kafka(headers, make_event().body())


@pytest.mark.parametrize("body,match", [
    (b"{not json", "JSON"),
    (b"", "JSON"),
    (None, "JSON"),
    (b"\xff\xfe", "JSON"),
    (b"[1, 2]", "object"),
    (b'"text"', "object"),
    (b"null", "object"),
])
def test_from_kafka_rejects_bad_bodies(body, match):
    with pytest.raises(EnvelopeError, match=match):
        CloudEvent.from_kafka(make_event().headers(), body)


# --- catalogue -----------------------------------------------------------------------------------

@pytest.mark.parametrize("etype", CATALOGUE.values(), ids=list(CATALOGUE))
def test_catalogue_entry_is_complete(etype):
    assert etype.schema_file.is_file(), f"missing schema file {etype.schema_file}"
    schema = json.loads(etype.schema_file.read_text(encoding="utf-8"))
    assert schema["$schema"] == DRAFT_2020_12
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == etype.dataschema == f"urn:ipbridge:schema:{etype.type}:v{etype.version}"
    assert etype.topic in TOPICS
    assert etype.source == f"/ipbridge/{TOPICS[etype.topic].owner}"
    assert event_type(etype.type) is etype


def test_unknown_event_type():
    with pytest.raises(KeyError, match="enterprise.deleted"):
        event_type("enterprise.deleted")
    with pytest.raises(KeyError):
        validate_payload("enterprise.deleted", good_payload())


def test_dlq_topic_name():
    assert dlq_topic("registry.enterprise.v1") == "registry.enterprise.v1.dlq"


def test_good_payload_is_accepted():
    validate_payload("enterprise.registered", good_payload())
    validate_payload("enterprise.registered",
                     good_payload(region_code=None, province_code=None, industry_code=None,
                                  ownership=None, founded_on=None))
    updated = good_payload(revision=2, updated_at="2025-02-01T00:00:00Z")
    del updated["registered_at"]
    validate_payload("enterprise.updated", updated)


def test_registry_producer_payload_fits_the_schema():
    """What the registry actually emits (enterprise_state + registered_at) passes its schema."""
    enterprise = Enterprise(uscc=USCC, name="苏州示例科技有限公司", region_code="320500",
                            province_code="32", industry_code="C3911", industry_section="C",
                            ownership="private", founded_on=date(2020, 5, 1), revision=1)
    payload = enterprise_state(enterprise) | {"registered_at": datetime.now(UTC).isoformat()}
    validate_payload("enterprise.registered", payload)


@pytest.mark.parametrize("overrides,path", [
    ({"uscc": "91320500ma1b2c3d8w"}, "uscc"),
    ({"uscc": "91320500MA1B2C3D8I"}, "uscc"),
    ({"uscc": "91A20500MA1B2C3D8W"}, "uscc"),
    ({"revision": "1"}, "revision"),
    ({"revision": 0}, "revision"),
    ({"name": ""}, "name"),
    ({"region_code": "32050"}, "region_code"),
    ({"ownership": "public"}, "ownership"),
    ({"founded_on": "2020-13-01"}, "founded_on"),
])
def test_bad_field_names_its_path(overrides, path):
    with pytest.raises(SchemaViolation) as excinfo:
        validate_payload("enterprise.registered", good_payload(**overrides))
    assert excinfo.value.path == path
    assert path in str(excinfo.value)
    assert "enterprise.registered" in str(excinfo.value)


@pytest.mark.parametrize("missing", ["name", "uscc", "revision", "registered_at"])
def test_missing_required_field_is_named(missing):
    payload = good_payload()
    del payload[missing]
    with pytest.raises(SchemaViolation, match=f"'{missing}' is a required property"):
        validate_payload("enterprise.registered", payload)


def test_updated_requires_updated_at():
    with pytest.raises(SchemaViolation, match="updated_at"):
        validate_payload("enterprise.updated", good_payload())


def test_version_of_parses_the_dataschema():
    assert version_of("urn:ipbridge:schema:enterprise.registered:v1", "enterprise.registered") == 1
    assert version_of(CATALOGUE["enterprise.updated"].dataschema, "enterprise.updated") == 1


@pytest.mark.parametrize("dataschema", [
    "urn:ipbridge:schema:enterprise.updated:v1",     # another type's schema
    "urn:ipbridge:schema:enterprise.registered:v2",  # unknown version
    "urn:ipbridge:schema:enterprise.registered:v0",
    "urn:ipbridge:schema:enterprise.registered:v",
    "urn:ipbridge:schema:enterprise.registered:1",
    "urn:ipbridge:schema:enterprise.registered:v1.0",
    "urn:ipbridge:schema:enterprise.registered:v-1",
    "urn:ipbridge:schema:enterprise.registered:v²",  # str.isdigit() is true, int() fails
    "urn:ipbridge:schema:enterprise.registered:v١",  # Arabic-Indic one
    "https://example.com/enterprise.registered.v1.json",
    "",
])
def test_version_of_rejects_other_schemas(dataschema):
    # The consumer dead-letters a SchemaViolation; any other exception ends its consumer task.
    with pytest.raises(SchemaViolation) as excinfo:
        version_of(dataschema, "enterprise.registered")
    assert excinfo.value.path == "ce_dataschema"


# --- AsyncAPI ------------------------------------------------------------------------------------

def test_checked_in_asyncapi_document_is_current():
    path = REPO_ROOT / "docs" / "asyncapi.yaml"
    assert asyncapi.ASYNCAPI_PATH == path
    assert path.is_file(), "docs/asyncapi.yaml is missing; run `make asyncapi`"
    assert path.read_text(encoding="utf-8") == asyncapi.render(), (
        "docs/asyncapi.yaml is out of date with shared/events/catalogue.py; run `make asyncapi`")


def test_asyncapi_document_parses_to_the_built_document():
    assert yaml.safe_load(asyncapi.render()) == asyncapi.build()


def test_asyncapi_channels_one_per_topic_with_its_address():
    doc = asyncapi.build()
    assert doc["asyncapi"] == "3.0.0"
    by_address = {c["address"]: c for c in doc["channels"].values()}
    for topic in TOPICS.values():
        assert topic.name in by_address, f"no channel for topic {topic.name}"
        assert dlq_topic(topic.name) in by_address, f"no DLQ channel for {topic.name}"
        policy = by_address[topic.name]["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"]
        assert policy == (["compact"] if topic.compacted else ["delete"])
    assert set(by_address) == set(TOPICS) | {dlq_topic(t) for t in TOPICS}


def _resolve(doc: dict, ref: str) -> dict:
    """Follow a local ``$ref`` (and any ``$ref`` it lands on) to the object it names."""
    assert ref.startswith("#/")
    node = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return _resolve(doc, node["$ref"]) if set(node) == {"$ref"} else node


@pytest.mark.parametrize("etype", CATALOGUE.values(), ids=list(CATALOGUE))
def test_asyncapi_message_payload_is_the_schema_file(etype):
    doc = asyncapi.build()
    channel = next(c for c in doc["channels"].values() if c["address"] == etype.topic)
    messages = [_resolve(doc, m["$ref"]) for m in channel["messages"].values()]
    message = next(m for m in messages if m["name"] == etype.type)
    assert message["title"] == f"{etype.type} v{etype.version}"
    payload = _resolve(doc, message["payload"]["$ref"])
    schema = json.loads(etype.schema_file.read_text(encoding="utf-8"))
    # AsyncAPI schema objects carry no "$schema" keyword; everything else is the file verbatim.
    assert payload == {k: v for k, v in schema.items() if k != "$schema"}
    assert payload == {k: v for k, v in load_schema(etype.type, etype.version).items()
                       if k != "$schema"}
    headers = _resolve(doc, message["headers"]["$ref"])
    assert {"ce_id", "ce_type", "ce_dataschema", "content-type"} <= set(headers["required"])
    # Someone sends it: an operation on the channel lists the message.
    sent = [op for op in doc["operations"].values()
            if op["action"] == "send" and _resolve(doc, op["channel"]["$ref"]) is channel]
    assert any(_resolve(doc, m["$ref"]) is message for op in sent for m in op["messages"])
