"""Every service's models map together in one process.

The services keep separate databases but share one declarative registry (``shared.db.Base``):
a relationship naming its target by string ("PatentOwnerFact") becomes ambiguous as soon as a
second service maps a class of that name, and then no mapper in the process configures, which
took every test down. Tests, tools and the dev runner import several services at once."""

from __future__ import annotations

import importlib
import pkgutil

import sqlalchemy.orm

import services


def test_all_services_models_configure_together():
    loaded = []
    for service in pkgutil.iter_modules(services.__path__):
        package = importlib.import_module(f"services.{service.name}")
        for module in pkgutil.walk_packages(package.__path__, f"services.{service.name}."):
            if module.name.endswith(".models"):
                importlib.import_module(module.name)
                loaded.append(module.name)
    assert {"services.financing.facts.models", "services.matching.facts.models",
            "services.registry.patents.models"} <= set(loaded)
    sqlalchemy.orm.configure_mappers()
