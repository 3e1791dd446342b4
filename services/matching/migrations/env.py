"""Alembic environment of the matching service (its own database and version table)."""

from services.matching.db import Base

from shared.migrate import run_env

run_env(Base.metadata, "matching")
