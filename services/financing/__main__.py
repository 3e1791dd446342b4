"""Financing command line: ``python -m services.financing --help``."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from services.financing.config import FinancingSettings
from shared.db import create_engine, create_sessionmaker

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
whitelist_app = typer.Typer(no_args_is_help=True, help="The pledge-financing whitelist.")
app.add_typer(whitelist_app, name="whitelist")


@app.callback()
def main() -> None:
    """Financing operations."""


@whitelist_app.command("reevaluate")
def reevaluate(
    stale_only: Annotated[bool, typer.Option(
        "--stale-only", help="only entries decided by another pack than the one in force")]
    = False,
    batch_size: Annotated[int, typer.Option(min=1, max=5000)] = 500,
    database_url: Annotated[str | None, typer.Option(envvar="FINANCING_DATABASE_URL")] = None,
) -> None:
    """Re-evaluate every enterprise financing knows (one transaction per batch) and publish
    what changed through the outbox; the running service's relay sends it. Safe to repeat."""
    from services.financing.app import load_policy_packs
    from services.financing.whitelist.service import reevaluate_all

    load_policy_packs()
    url = database_url or FinancingSettings().database_url

    async def run() -> dict[str, int]:
        engine = create_engine(url)
        try:
            return await reevaluate_all(create_sessionmaker(engine), cause="ops:cli",
                                        only_stale_pack=stale_only, batch_size=batch_size)
        finally:
            await engine.dispose()

    typer.echo(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    app()
