"""A meetings application on SQLite (its case digest is a view written with the consumer's tracking) with a
clock the test sets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.meetings.application import MeetingsApplication
from shared.config import Settings
from shared.contracts.envelope import rfc3339

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # Monday 2 November 2026, 09:00 in Shanghai


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def app(tmp_path, clock):
    app = MeetingsApplication(Settings(None, "", tmp_path / "var"), clock=clock)
    yield app
    app.close()


class Council:
    """Drives a meeting through its steps the way staff would, for tests of later steps."""

    def __init__(self, app: MeetingsApplication, clock: Clock, kind: str = "regular", days_ahead: int = 7):
        self.app, self.clock = app, clock
        meeting, _ = app.schedule({"kind": kind, "place": "幸福里3号院凉亭", "title": "十一月议事会",
                                   "meeting_at": rfc3339(clock() + timedelta(days=days_ahead))})
        self.id = str(meeting.id)

    def agenda(self, **topic) -> list[str]:
        body = {"title": "3号院停车难", "background": "3号院车位不足,夜间占用消防通道", "draft_plan": "将荒废绿地改建为车位"}
        return self.app.publish_agenda(self.id, {"topics": [body | topic]})[0]

    def invite(self, *people: tuple[str, str]) -> list[str]:
        return self.app.invite(self.id, {"participants": [{"name": n, "role": r} for n, r in people]})[0]

    def open_with(self, members: int = 5, present: int | None = None) -> list[str]:
        """Invite `members` residents' representatives and a property manager; open with `present` of them."""
        self.agenda()
        ids = self.invite(*[(f"代表{i}", "resident_representative") for i in range(members)],
                          ("物业李经理", "property_manager"))
        voters = ids[:members]
        here = voters[: members if present is None else present]
        self.clock.now = self.meeting().meeting_at
        self.app.open_meeting(self.id, {"present": [*here, ids[-1]], "chair": voters[0], "recorder": ids[-1]})
        return voters

    def meeting(self):
        return self.app.get_meeting(self.id)
