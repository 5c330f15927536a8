"""A liaison application on SQLite with a clock the test sets, its read models projected on demand, and
casework's events delivered as the consumer would (validated CloudEvents, in sequence)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.liaison.application import LiaisonApplication
from services.liaison.bootstrap import SPEC
from shared.config import Settings
from shared.contracts import IntegrationEvent, from_cloudevent, to_cloudevent
from shared.store.persistence import Database
from shared.store.projection import catch_up

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # Monday 2 November 2026, 09:00 in Shanghai
SH = timezone(timedelta(hours=8))


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Intake:
    """Intake's side of a concern, as `report_to_intake` gives it: one issue per Idempotency-Key."""

    def __init__(self):
        self.reports: dict[str, dict[str, Any]] = {}

    def __call__(self, report: dict[str, Any], key: str) -> dict[str, Any]:
        self.reports.setdefault(key, report)
        n = list(self.reports).index(key)
        return {"issue_id": f"1a2b3c4d-0000-4000-8000-{n:012d}", "tracking_code": f"YS-20261102-{n:04d}"}


class Casework:
    def __init__(self, app: LiaisonApplication):
        self.app, self.sequence = app, 0

    def send(self, name: str, at: datetime, **data: Any) -> IntegrationEvent:
        self.sequence += 1
        event = from_cloudevent(to_cloudevent("casework", name, sequence=self.sequence,
                                              prevsequence=self.sequence - 1 or None, subject=data["case_id"],
                                              time=at.astimezone(timezone.utc), data=data))
        self.app.process(event)
        return event


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def app(tmp_path, clock):
    app = LiaisonApplication(Settings(None, "", tmp_path / "var"), clock=clock)
    yield app
    app.close()


@pytest.fixture
def db(tmp_path, app):
    db = Database("liaison", Settings(None, "", tmp_path / "var"))
    yield db
    db.close()


@pytest.fixture
def project(app, db):
    def run() -> None:  # as a process does at its start (the writers keep them current)
        catch_up(app, db, list(app.projections))

    return run


@pytest.fixture
def casework(app) -> Casework:
    return Casework(app)


@pytest.fixture
def station(app) -> str:
    station, _ = app.open_station({"name": "幸福里代表联络站", "community": "幸福里", "place": "幸福里党群服务中心二楼"})
    return str(station.id)


@pytest.fixture
def representative(app, station) -> str:
    rep, _ = app.register_representative({"name": "王建国", "station_id": station, "expertise": ["法律", "物业管理"],
                                          "contact": {"phone": "13812345678"}})
    return str(rep.id)
