"""Events: CloudEvents 1.0 envelope, the catalogue of event types and topics, JSON Schemas."""

from shared.events.catalogue import CATALOGUE, TOPICS, EventType, Topic, event_type
from shared.events.envelope import CloudEvent, EnvelopeError

__all__ = ["CATALOGUE", "TOPICS", "CloudEvent", "EnvelopeError", "EventType", "Topic",
           "event_type"]
