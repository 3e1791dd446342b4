"""Kafka clients built from settings, and topic provisioning."""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.config import ServiceSettings
from shared.events.catalogue import TOPICS, dlq_topic

log = structlog.get_logger("ipbridge.kafka")


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """acks=all always; idempotence is a setting (Apache Kafka: on; local Tansu: off)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"ipbridge-{settings.service_name}",
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        retry_backoff_ms=200,
    )


def make_consumer(settings: ServiceSettings, topics: list[str], group_id: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"ipbridge-{settings.service_name}",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        request_timeout_ms=max(settings.kafka_request_timeout_ms,
                               settings.kafka_session_timeout_ms + 1000),
        max_poll_records=500,
    )


def all_topic_names() -> list[str]:
    names: list[str] = []
    for topic in TOPICS.values():
        names += [topic.name, dlq_topic(topic.name)]
    return names


async def ensure_topics(bootstrap: str, partitions: int = 3, replication: int = 1,
                        attempts: int = 30) -> list[str]:
    """Create every catalogue topic and its DLQ (idempotent); returns the names created."""
    new = []
    for topic in TOPICS.values():
        config = {"cleanup.policy": "compact"} if topic.compacted else {}
        new.append(NewTopic(topic.name, partitions, replication, topic_configs=config))
        new.append(NewTopic(dlq_topic(topic.name), 1, replication))
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in new if t.name not in existing]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass
            log.info("kafka.topics_ready", created=[t.name for t in missing])
            return [t.name for t in missing]
        except Exception as exc:  # broker still starting
            if attempt == attempts:
                raise
            log.warning("kafka.topics_retry", attempt=attempt, error=str(exc))
            await asyncio.sleep(min(0.2 * attempt, 2))
        finally:
            await admin.close()
    return []
