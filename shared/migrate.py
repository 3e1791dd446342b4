"""Alembic per service: own script location, own version table, own database.

Ops run ``python -m shared.cli migrate [SERVICE|all]`` (``make migrate``) as a step before start;
services never migrate from their lifespan. Each service's ``migrations/env.py`` calls
:func:`run_env` with its metadata.
"""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from shared.config import REPO_ROOT

SERVICES = ("registry", "financing", "matching", "rewards")


def version_table(service: str) -> str:
    return f"{service}_alembic_version"


def alembic_config(service: str, database_url: str) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def _configure(connection, metadata, service: str) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, version_table=version_table(service),
        render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata, service: str) -> None:
    """Body of every service's env.py (online mode over the async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True,
                          version_table=version_table(service),
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(_configure, metadata, service)
            await connection.commit()
        await engine.dispose()

    asyncio.run(online())


def service_metadata(service: str):
    """The service's full metadata: its ``db.Base`` plus every ``<domain>/models.py``."""
    import importlib
    import pkgutil

    package = importlib.import_module(f"services.{service}")
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"services.{service}.{module.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"services.{service}.{module.name}.models":
                    raise
    return importlib.import_module(f"services.{service}.db").Base.metadata


def draft(service: str, tables: set[str] | None = None) -> str:
    """Alembic operations (Python) that would bring a database migrated to ``heads`` to the
    models, optionally only for ``tables``: a starting point for a hand-checked migration
    (``python -m shared.migrate draft SERVICE [TABLE ...]``)."""
    import tempfile
    from pathlib import Path

    from alembic.autogenerate import produce_migrations, render_python_code
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    metadata = service_metadata(service)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "draft.db"
        upgrade(service, f"sqlite+aiosqlite:///{path}")
        engine = create_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": True, "render_as_batch": True,
                "version_table": version_table(service),
                "include_object": lambda obj, name, kind, reflected, other: (
                    tables is None or (name if kind == "table" else obj.table.name) in tables)})
            ops = produce_migrations(ctx, metadata).upgrade_ops
        engine.dispose()
    return render_python_code(ops)


if __name__ == "__main__":
    import sys

    if len(sys.argv) < 3 or sys.argv[1] != "draft":
        sys.exit("usage: python -m shared.migrate draft SERVICE [TABLE ...]")
    print(draft(sys.argv[2], set(sys.argv[3:]) or None))
