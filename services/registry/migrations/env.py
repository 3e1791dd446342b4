"""Alembic environment of the registry service (its own database and version table)."""

from services.registry.db import Base
import services.registry.enterprises.models  # noqa: F401  (registers the tables)
from shared.migrate import run_env

run_env(Base.metadata, "registry")
