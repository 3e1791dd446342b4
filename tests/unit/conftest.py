"""Fixtures for the unit tests: pure functions and in-process ASGI apps, no broker, no database."""

from __future__ import annotations

import os

import pytest

from shared.config import PLATFORM_WIDE_ENV

SERVICE_PREFIXES = ("REGISTRY_", "FINANCING_", "MATCHING_", "REWARDS_")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without any ipbridge setting, so a test sees only what it sets itself."""
    for name in list(os.environ):
        if name in PLATFORM_WIDE_ENV.values() or name.startswith(SERVICE_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    return monkeypatch
