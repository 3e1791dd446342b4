#!/usr/bin/env python3
"""A bank's consumer of the ipbridge pledge-financing whitelist (topic financing.whitelist.v1).

Self-contained: Python 3.11+ and ``pip install aiokafka`` (no ipbridge code). Run it as

    python examples/bank_whitelist_consumer.py --bootstrap HOST:PORT --group bank-x \\
        --out whitelist.json

It reads the topic from the beginning (the topic is log-compacted by USCC, so the beginning holds
the latest snapshot of every enterprise), keeps the latest entry per USCC, and writes the current
list to ``--out`` after every batch, then commits the batch's offsets: a restart continues from
the committed offsets with the list it saved.

The contract it relies on (see docs/asyncapi.yaml):
- CloudEvents 1.0 in Kafka binary mode: headers ``ce_specversion`` ``ce_id`` ``ce_type``
  ``ce_source`` ``ce_subject`` ``ce_time`` ``ce_dataschema`` and ``content-type:
  application/json``; the body is the event data (JSON).
- Types ``whitelist.entry_added`` / ``whitelist.entry_updated`` (the full entry: tier, basis,
  pledgeable patents with their latest valuation) and ``whitelist.entry_removed`` (with the rules
  that failed). The key and ``ce_subject`` are the USCC.
- ``data.revision`` counts the entry's published changes: keep the highest per USCC, so a
  redelivered or older snapshot (a replay, a duplicate after a crash) changes nothing.
- A record with a null value (a compaction tombstone) removes the key.

One line per change is printed to stdout (``added`` / ``updated`` / ``removed``); skipped
records (stale revision, unknown type, malformed) go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata

TOPIC = "financing.whitelist.v1"
CHANGES = {"whitelist.entry_added": "added", "whitelist.entry_updated": "updated",
           "whitelist.entry_removed": "removed"}


class BadRecord(ValueError):
    """A record that is not a whitelist CloudEvent this consumer can apply."""


@dataclass(frozen=True)
class Change:
    uscc: str
    kind: str                      # added | updated | removed
    revision: int | None           # None only for a tombstone
    event_id: str | None
    event_type: str | None
    event_time: str | None
    entry: dict[str, Any] | None   # the snapshot; None when removed
    failed: tuple[str, ...] = ()   # removed: the rules that failed (data.basis.failed)


def parse(record) -> Change | None:
    """A Kafka record → a Change; None for event types this consumer does not know (newer ones
    may be added to the topic). Raises BadRecord for malformed records."""
    key = record.key.decode("utf-8") if record.key is not None else None
    if record.value is None:  # compaction tombstone: the key is gone
        if not key:
            raise BadRecord("tombstone without a key")
        return Change(key, "removed", None, None, None, None, None)
    try:
        headers = {k: v.decode("utf-8") for k, v in (record.headers or ()) if v is not None}
    except UnicodeDecodeError as exc:
        raise BadRecord("a header is not UTF-8") from exc
    if headers.get("ce_specversion") != "1.0":
        raise BadRecord(f"ce_specversion {headers.get('ce_specversion')!r} is not 1.0")
    missing = [h for h in ("ce_id", "ce_type", "ce_source") if not headers.get(h)]
    if missing:
        raise BadRecord(f"missing header(s) {', '.join(missing)}")
    event_type = headers["ce_type"]
    if event_type not in CHANGES:
        return None
    content_type = headers.get("content-type", "application/json")
    if not content_type.startswith("application/json"):
        raise BadRecord(f"content-type {content_type!r} is not application/json")
    try:
        data = json.loads(record.value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRecord(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRecord("body is not a JSON object")
    uscc = data.get("uscc") or headers.get("ce_subject") or key
    if not isinstance(uscc, str) or not uscc:
        raise BadRecord("no USCC in the body, ce_subject or key")
    for name, value in (("key", key), ("ce_subject", headers.get("ce_subject"))):
        if value and value != uscc:
            raise BadRecord(f"{name} {value!r} differs from data.uscc {uscc!r}")
    revision = data.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
        raise BadRecord(f"data.revision {revision!r} is not a positive integer")
    kind = CHANGES[event_type]
    basis = data.get("basis")
    failed = (basis.get("failed") or []) if kind == "removed" and isinstance(basis, dict) else []
    return Change(uscc, kind, revision, headers["ce_id"], event_type, headers.get("ce_time"),
                  None if kind == "removed" else data, tuple(str(f) for f in failed))


class Whitelist:
    """The latest entry per USCC, with a revision guard that survives removals."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.revisions: dict[str, int] = {}

    @classmethod
    def load(cls, path: Path) -> "Whitelist":
        state = cls()
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            state.entries = {e["uscc"]: e for e in saved.get("entries", [])}
            state.revisions = {k: int(v) for k, v in saved.get("revisions", {}).items()}
        return state

    def apply(self, change: Change) -> tuple[str | None, str | None]:
        """Apply one change: (the line to print, None), or (None, why nothing changed)."""
        known = self.revisions.get(change.uscc, 0)
        if change.revision is not None:
            if change.revision <= known:
                return None, f"{change.uscc} revision {change.revision} is not newer than {known}"
            self.revisions[change.uscc] = change.revision
        if change.kind == "removed":
            if self.entries.pop(change.uscc, None) is None:
                return None, f"{change.uscc} removed but was not on the list"
            return f"removed {change.uscc} rev={change.revision}" + (
                f" failed={','.join(change.failed)}" if change.failed else ""), None
        entry = dict(change.entry or {})
        kind = "updated" if change.uscc in self.entries else "added"
        self.entries[change.uscc] = entry
        tier = (entry.get("tier") or {}).get("code")
        patents = len(entry.get("pledgeable_patents") or [])
        return (f"{kind} {change.uscc} rev={change.revision} tier={tier} patents={patents} "
                f"name={entry.get('name')}"), None

    def save(self, path: Path, topic: str) -> None:
        """Write the list atomically: a temp file in the same folder, fsync, rename."""
        document = {
            "topic": topic,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "count": len(self.entries),
            "entries": [self.entries[u] for u in sorted(self.entries)],
            "revisions": dict(sorted(self.revisions.items())),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise


def log_skip(record, reason: str) -> None:
    print(f"skip {record.topic}[{record.partition}]@{record.offset}: {reason}", file=sys.stderr,
          flush=True)


async def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    state = Whitelist.load(out)
    consumer = AIOKafkaConsumer(
        args.topic, bootstrap_servers=args.bootstrap, group_id=args.group,
        client_id=f"{args.group}-whitelist", enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=args.fetch_max_wait_ms,
        session_timeout_ms=args.session_timeout_ms,
        heartbeat_interval_ms=args.heartbeat_interval_ms,
        request_timeout_ms=max(30_000, args.session_timeout_ms + 5_000))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows
            pass
    await consumer.start()
    try:
        state.save(out, args.topic)  # the file exists (maybe empty) once we are connected
        ends: dict[TopicPartition, int] | None = None
        started = last_message = time.monotonic()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            records = [r for msgs in batches.values() for r in msgs]
            if records:
                last_message = time.monotonic()
                for record in records:
                    try:
                        change = parse(record)
                    except BadRecord as exc:
                        log_skip(record, str(exc))
                        continue
                    if change is None:
                        log_skip(record, "not a whitelist event type")
                        continue
                    line, skipped = state.apply(change)
                    if line is not None:
                        print(line, flush=True)
                    else:
                        log_skip(record, skipped)
                state.save(out, args.topic)
                offsets = {tp: OffsetAndMetadata(msgs[-1].offset + 1, "")
                           for tp, msgs in batches.items() if msgs}
                try:
                    await consumer.commit(offsets)
                except (CommitFailedError, IllegalStateError) as exc:
                    # Rebalanced away: the new owner re-reads; the revision guard absorbs it.
                    print(f"commit skipped: {exc}", file=sys.stderr, flush=True)
            assignment = consumer.assignment()
            if args.once and assignment:
                if ends is None or set(ends) != set(assignment):
                    ends = await consumer.end_offsets(list(assignment))
                positions = {tp: await consumer.position(tp) for tp in assignment}
                if all(positions[tp] >= ends[tp] for tp in assignment):
                    break
            if args.until_idle is not None and assignment \
                    and time.monotonic() - last_message >= args.until_idle:
                break
            if not assignment and time.monotonic() - started > args.max_join_s:
                print(f"no partition of {args.topic} assigned after {args.max_join_s} s",
                      file=sys.stderr, flush=True)
                return 2
    except KafkaError as exc:
        print(f"kafka error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        await consumer.stop()
    print(f"done: {len(state.entries)} entries in {out}", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers HOST:PORT")
    parser.add_argument("--group", required=True, help="consumer group id (one per bank)")
    parser.add_argument("--out", required=True, help="JSON file holding the current whitelist")
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument("--once", action="store_true",
                        help="exit once caught up with the end of the assigned partitions")
    parser.add_argument("--until-idle", type=float, default=None, metavar="SECONDS",
                        help="exit after SECONDS without a new record")
    parser.add_argument("--max-join-s", type=float, default=60.0,
                        help="give up when no partition is assigned after this long")
    parser.add_argument("--fetch-max-wait-ms", type=int, default=100,
                        help="brokers that answer a waiting fetch only at this deadline (the "
                             "local Tansu broker) deliver with about this latency")
    parser.add_argument("--session-timeout-ms", type=int, default=10_000,
                        help="group joins wait about half of it")
    parser.add_argument("--heartbeat-interval-ms", type=int, default=3_000)
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
