"""Alembic environment of the financing service (its own database and version table)."""

import importlib
import pkgutil

import services.financing
from services.financing.db import Base
from shared.migrate import run_env

# Register every domain's tables: services/financing/<domain>/models.py.
for module in pkgutil.iter_modules(services.financing.__path__):
    if module.ispkg:
        try:
            importlib.import_module(f"services.financing.{module.name}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.financing.{module.name}.models":
                raise

run_env(Base.metadata, "financing")
