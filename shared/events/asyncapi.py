"""Generate the AsyncAPI 3.0 document from the catalogue (``docs/asyncapi.yaml``)."""

from __future__ import annotations

from typing import Any

import yaml

from shared.config import REPO_ROOT
from shared.events.catalogue import CATALOGUE, TOPICS, dlq_topic, load_schema

ASYNCAPI_PATH = REPO_ROOT / "docs" / "asyncapi.yaml"

_CE_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary content mode.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time",
                 "ce_dataschema", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "Unique event id; consumers dedupe on it."},
        "ce_source": {"type": "string", "description": "/ipbridge/<owning service>"},
        "ce_type": {"type": "string"},
        "ce_subject": {"type": "string", "description": "The entity concerned (usually a USCC)."},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_dataschema": {"type": "string", "description": "urn:ipbridge:schema:<type>:v<N>"},
        "ce_correlationid": {"type": "string",
                             "description": "Carries the request's correlation id across services."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _message_name(event: str, version: int) -> str:
    return f"{event.replace('.', '_')}_v{version}"


def build() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic in TOPICS.values():
        refs = {}
        for etype in (e for e in CATALOGUE.values() if e.topic == topic.name):
            name = _message_name(etype.type, etype.version)
            schema = load_schema(etype.type, etype.version)
            schemas[name] = {k: v for k, v in schema.items() if k != "$schema"}
            messages[name] = {
                "name": etype.type, "title": f"{etype.type} v{etype.version}",
                "summary": etype.description, "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "bindings": {"kafka": {"key": {"type": "string",
                                               "description": "USCC of the enterprise concerned; for "
                                                              "IP with no owner USCC, the "
                                                              "application or registration number"}}},
            }
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        channel_id = topic.name.replace(".", "_")
        channels[channel_id] = {
            "address": topic.name, "description": topic.description, "messages": refs,
            "bindings": {"kafka": {"topic": topic.name, "topicConfiguration": {
                "cleanup.policy": ["compact"] if topic.compacted else ["delete"]}}},
        }
        channels[channel_id + "_dlq"] = {
            "address": dlq_topic(topic.name),
            "description": f"Dead letters of {topic.name}: the original message plus dlq_* "
                           "headers (error, original topic/partition/offset, consumer group).",
            "messages": {},
        }
        if refs:
            operations[f"publish_{channel_id}"] = {
                "action": "send", "summary": f"{topic.owner} publishes on {topic.name}",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in refs],
            }
    schemas["CloudEventHeaders"] = _CE_HEADERS
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "ipbridge events", "version": "1.0.0",
                 "description": "Generated from shared/events/catalogue.py; do not edit by hand. "
                                "Every message is a CloudEvent in Kafka binary mode; the Kafka "
                                "key is the USCC of the enterprise concerned (for a patent or "
                                "mark with no owner USCC, its number), so everything about one "
                                "enterprise on one topic is ordered."},
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                      "description": "make run (Tansu)"},
            "production": {"host": "kafka:9092", "protocol": "kafka",
                           "description": "docker-compose (Apache Kafka, KRaft)"},
        },
        "channels": channels, "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return yaml.safe_dump(build(), sort_keys=False, allow_unicode=True, width=100)


def write() -> None:
    ASYNCAPI_PATH.parent.mkdir(parents=True, exist_ok=True)
    ASYNCAPI_PATH.write_text(render(), encoding="utf-8")
