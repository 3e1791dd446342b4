"""Prometheus metrics shared by all services (one process may host several apps in tests,
so every metric carries a ``service`` label instead of living in a per-app registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("ipbridge_http_requests_total", "HTTP requests handled",
                        ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("ipbridge_http_request_duration_seconds", "HTTP request latency",
                         ["service", "method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
OUTBOX_BACKLOG = Gauge("ipbridge_outbox_backlog", "Outbox rows committed but not yet published",
                       ["service"])
OUTBOX_OLDEST_AGE = Gauge("ipbridge_outbox_oldest_age_seconds",
                          "Age of the oldest unpublished outbox row", ["service"])
EVENTS_PUBLISHED = Counter("ipbridge_events_published_total", "Events published by the relay",
                           ["service", "topic", "type"])
PUBLISH_FAILURES = Counter("ipbridge_outbox_publish_failures_total",
                           "Relay batches that failed to publish (broker unreachable …)",
                           ["service"])
EVENTS_CONSUMED = Counter(
    "ipbridge_events_consumed_total",
    "Events received by consumers, by outcome (processed, duplicate, ignored, dead_lettered)",
    ["service", "topic", "type", "outcome"])
HANDLER_RETRIES = Counter("ipbridge_event_handler_retries_total",
                          "Handler attempts that failed and were retried", ["service", "topic"])
EVENTS_DEAD_LETTERED = Counter("ipbridge_events_dead_lettered_total",
                               "Messages sent to <topic>.dlq", ["service", "topic"])
CONSUMER_LAG = Gauge("ipbridge_consumer_lag", "End offset minus committed position",
                     ["service", "topic", "partition"])
