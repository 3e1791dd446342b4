"""Bulk import of registry records from CSV or JSON Lines.

Every good row is imported and every bad row is reported (line, key, field, rule, message) in an
error file; re-running the same file changes nothing (rows equal to what is stored are counted
``unchanged`` and emit no event; rows that differ are updated with a new revision and event).
Rows are validated by the same rules as the API, and written in batches: one transaction, one
existence query, multi-row inserts for records and outbox events per batch.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import InvalidInput, ProblemError

ERROR_COLUMNS = ["line", "key", "field", "rule", "message"]


@dataclass
class RowError:
    line: int
    key: str
    field: str
    rule: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("rows", "inserted", "updated", "unchanged",
                                              "rejected")}


class Importer(Protocol):
    """What a record kind provides to the bulk import."""

    kind: str
    key_field: str

    def parse(self, row: dict[str, Any]) -> Any:
        """Validate a raw row into a record; raise InvalidInput / ValidationError."""

    def key(self, record: Any) -> str: ...

    async def apply(self, session: AsyncSession, records: list[Any]
                    ) -> tuple[int, int, int, dict[str, Exception]]:
        """Insert new, update changed, skip equal records; returns (inserted, updated, unchanged,
        {key: error} for records refused by rules that need the database). A refused record
        must leave nothing written. Duplicate keys within a batch never reach here."""


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, parse error or None) from .csv or .jsonl/.ndjson files."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                clean = {k.strip(): (v.strip() if isinstance(v, str) else v)
                         for k, v in row.items() if k is not None}
                yield reader.line_num, {k: v for k, v in clean.items() if v not in ("", None)}, None
    elif suffix in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    yield number, None, f"not valid JSON: {exc}"
                    continue
                if not isinstance(value, dict):
                    yield number, None, "each line must be a JSON object"
                    continue
                yield number, value, None
    else:
        raise ValueError(f"{path.name}: use .csv or .jsonl (JSON Lines)")


def _errors_of(line: int, key: str, exc: Exception) -> list[RowError]:
    if isinstance(exc, ValidationError):
        return [RowError(line, key, ".".join(str(p) for p in e["loc"]) or "row", e["type"],
                         e["msg"]) for e in exc.errors()]
    if isinstance(exc, InvalidInput) and exc.errors:
        return [RowError(line, key, e["field"], e["rule"], e["message"]) for e in exc.errors]
    if isinstance(exc, ProblemError):
        return [RowError(line, key, "row", exc.slug, exc.detail)]
    return [RowError(line, key, "row", type(exc).__name__, str(exc))]


async def run_import(path: Path, importer: Importer, factory: async_sessionmaker[AsyncSession],
                     *, batch_size: int = 1000, progress=None) -> ImportReport:
    """Import a file; ``progress(rows_done)`` is called after each batch."""
    report = ImportReport()
    batch: dict[str, tuple[int, Any]] = {}

    async def flush() -> None:
        if not batch:
            return
        records = [record for _, record in batch.values()]
        async with factory() as session, session.begin():
            inserted, updated, unchanged, refused = await importer.apply(session, records)
        for key, exc in refused.items():
            report.rejected += 1
            report.errors.extend(_errors_of(batch[key][0], key, exc))
        report.inserted += inserted
        report.updated += updated
        report.unchanged += unchanged
        batch.clear()
        if progress:
            progress(report.rows)

    for line, row, parse_error in read_rows(path):
        report.rows += 1
        if parse_error is not None:
            report.rejected += 1
            report.errors.append(RowError(line, "", "row", "format", parse_error))
            continue
        raw_key = str(row.get("uscc") or row.get("application_no") or "")
        try:
            record = importer.parse(row)
        except (ProblemError, ValidationError, ValueError) as exc:
            report.rejected += 1
            report.errors.extend(_errors_of(line, raw_key, exc))
            continue
        key = importer.key(record)
        if key in batch:
            report.rejected += 1
            report.errors.append(RowError(line, key, importer.key_field, "duplicate_in_file",
                                          f"same key as line {batch[key][0]}"))
            continue
        batch[key] = (line, record)
        if len(batch) >= batch_size:
            await flush()
    await flush()
    return report


def write_errors(path: Path, errors: list[RowError]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(ERROR_COLUMNS)
        for e in errors:
            writer.writerow([e.line, e.key, e.field, e.rule, e.message])
