"""Registry command line: ``python -m services.registry --help``."""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.registry.bulk import run_import, write_errors
from services.registry.config import RegistrySettings
from shared.auth import Principal
from shared.db import create_engine, create_sessionmaker

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def main() -> None:
    """Registry operations: bulk import."""


class Kind(StrEnum):
    enterprises = "enterprises"
    patents = "patents"


def _importer(kind: Kind, by: Principal):
    if kind is Kind.enterprises:
        from services.registry.enterprises.bulk import EnterpriseImporter

        return EnterpriseImporter(by)
    from services.registry.patents.bulk import PatentImporter

    return PatentImporter(by)


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        lines = sum(1 for line in fh if line.strip())
    return max(0, lines - 1) if path.suffix.lower() == ".csv" else lines


@app.command("import")
def import_file(
    kind: Kind,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    errors: Annotated[Path | None, typer.Option(help="error report (CSV); default FILE.errors.csv")]
    = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    database_url: Annotated[str | None, typer.Option(envvar="REGISTRY_DATABASE_URL")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Import enterprises or patents from CSV or JSON Lines (.jsonl); every bad row is reported
    with its line and reason, every good row imported; re-running the same file changes nothing."""
    url = database_url or RegistrySettings().database_url
    by = Principal(subject=f"import:{file.name}", department="market_regulation", org=None,
                   scopes=frozenset({"enterprises:write", "ip:write"}))
    errors = errors or file.with_name(file.name + ".errors.csv")

    async def run():
        engine = create_engine(url)
        try:
            factory = create_sessionmaker(engine)
            if not progress:
                return await run_import(file, _importer(kind, by), factory, batch_size=batch_size)
            with Progress(TextColumn(f"importing {kind.value}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), transient=False) as bar:
                task = bar.add_task("rows", total=_count_lines(file))
                return await run_import(file, _importer(kind, by), factory,
                                        batch_size=batch_size,
                                        progress=lambda done: bar.update(task, completed=done))
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    write_errors(errors, report.errors)
    typer.echo(json.dumps(report.as_dict() | {"errors_file": str(errors)}, ensure_ascii=False))
    if report.rejected:
        raise typer.Exit(3)  # partial success: the good rows are in, see the error file


if __name__ == "__main__":
    app()
