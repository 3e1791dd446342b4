"""Alembic environment of the rewards service (its own database and version table)."""

from services.rewards.db import Base

from shared.migrate import run_env

run_env(Base.metadata, "rewards")
