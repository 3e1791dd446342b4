"""Dead-letter queues: list what failed and replay it onto the original topic.

A replayed message is the original value, key and CloudEvents headers, plus ``dlq_replayed_from``
(``<dlq topic>:<partition>:<offset>``). Consumers that handled it before skip it through their
inbox; the consumer that dead-lettered it tries again.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events.catalogue import TOPICS, dlq_topic


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    value: bytes

    @property
    def event_type(self) -> str:
        return self.headers.get("ce_type", "?")

    @property
    def event_id(self) -> str:
        return self.headers.get("ce_id", "?")


def _topic(name: str) -> str:
    base = name.removesuffix(".dlq")
    if base not in TOPICS:
        raise ValueError(f"unknown topic {name!r}; one of {', '.join(TOPICS)}")
    return base


async def list_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every message on ``<topic>.dlq``, oldest first."""
    name = dlq_topic(_topic(topic))
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(name) or set()
        tps = [TopicPartition(name, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[DeadLetter] = []
        while any([await consumer.position(tp) < end[tp] for tp in tps]):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    out.append(DeadLetter(
                        partition=r.partition, offset=r.offset,
                        key=r.key.decode(errors="replace") if r.key is not None else None,
                        headers={k: v.decode(errors="replace") for k, v in r.headers or ()},
                        value=r.value or b""))
        return out
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str, offsets: set[tuple[int, int]] | None = None) -> int:
    """Republish dead letters (all, or the given (partition, offset) pairs); returns the count."""
    base = _topic(topic)
    letters = [d for d in await list_dead_letters(bootstrap, base)
               if offsets is None or (d.partition, d.offset) in offsets]
    if not letters:
        return 0
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for d in letters:
            headers = [(k, v.encode()) for k, v in d.headers.items() if not k.startswith("dlq_")]
            headers.append(("dlq_replayed_from",
                            f"{dlq_topic(base)}:{d.partition}:{d.offset}".encode()))
            await producer.send_and_wait(base, d.value, key=d.key.encode() if d.key else None,
                                         headers=headers)
    finally:
        await producer.stop()
    return len(letters)
