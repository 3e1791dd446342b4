"""The controllable clock: every process reading the clock file takes its date as today (for
replaying a synthetic year), and production refuses it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.registry.config import RegistrySettings
from shared import db


def test_the_clock_file_moves_today_and_now_together(tmp_path, monkeypatch):
    real_today, real_now = db.today_cn(), db.utcnow()
    path = tmp_path / "clock"
    monkeypatch.setenv(db.CLOCK_FILE_ENV, str(path))
    assert db.today_cn() == real_today          # no file yet: the real date
    db.set_clock(path, date(2025, 3, 1))
    assert db.today_cn() == date(2025, 3, 1)
    shift = db.utcnow() - real_now
    assert abs(shift - (date(2025, 3, 1) - real_today)) < timedelta(minutes=1)
    db.set_clock(path, date(2025, 3, 2))         # moved on: read again
    assert db.today_cn() == date(2025, 3, 2)
    monkeypatch.delenv(db.CLOCK_FILE_ENV)
    assert db.today_cn() == real_today


def test_production_refuses_the_clock_file(tmp_path, monkeypatch):
    monkeypatch.setenv(db.CLOCK_FILE_ENV, str(tmp_path / "clock"))
    with pytest.raises(ValueError, match="IPBRIDGE_CLOCK_FILE"):
        RegistrySettings(env="prod", jwt_secret="x" * 40)
    assert RegistrySettings(env="test").env == "test"
