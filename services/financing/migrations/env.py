"""Alembic environment of the financing service (its own database and version table)."""

from services.financing.db import Base

from shared.migrate import run_env

run_env(Base.metadata, "financing")
