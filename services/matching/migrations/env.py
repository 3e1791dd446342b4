"""Alembic environment of the matching service (its own database and version table)."""

import importlib
import pkgutil

import services.matching
from services.matching.db import Base
from shared.migrate import run_env

# Register every domain's tables: services/matching/<domain>/models.py.
for module in pkgutil.iter_modules(services.matching.__path__):
    if module.ispkg:
        try:
            importlib.import_module(f"services.matching.{module.name}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.matching.{module.name}.models":
                raise

run_env(Base.metadata, "matching")
