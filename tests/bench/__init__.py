"""Benchmarks (`make bench`). They measure latency at the low fetch wait a latency-minded local
deployment would use (10 ms; Tansu answers a waiting fetch only when it expires), not at the
suite's 50 ms, which trades a few tens of milliseconds per hop for idle CPU."""

from tests.harness import TEST_KAFKA_ENV

TEST_KAFKA_ENV["KAFKA_FETCH_MAX_WAIT_MS"] = "10"
