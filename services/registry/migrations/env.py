"""Alembic environment of the registry service (its own database and version table)."""

import importlib
import pkgutil

import services.registry
from services.registry.db import Base
from shared.migrate import run_env

# Register every domain's tables: services/registry/<domain>/models.py.
for module in pkgutil.iter_modules(services.registry.__path__):
    if module.ispkg:
        try:
            importlib.import_module(f"services.registry.{module.name}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.registry.{module.name}.models":
                raise

run_env(Base.metadata, "registry")
