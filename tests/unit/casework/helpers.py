"""Builders for casework's domain tests: upstream events and an in-memory application with a set clock."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

from services.casework.application import CaseworkApplication
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def memory_app(tmp_path: Path, clock: Clock) -> CaseworkApplication:
    return CaseworkApplication(Settings(None, "", tmp_path), env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                               clock=clock)


def issue(title: str, category: str = "设施维护", reported_at: str = "2026-11-23T02:00:00Z", **extra) -> dict:
    return {"issue_id": str(uuid4()), "channel": "hotline", "category": category, "tags": [],
            "title": title, "description": "", "location": {"community": "幸福里", "building": "3"},
            "reporter_ref": "rp-1", "reported_at": reported_at} | extra


def reported(sequence: int, data: dict):
    return from_cloudevent(to_cloudevent("intake", "IssueReported", sequence=sequence, prevsequence=None,
                                         subject=data["issue_id"], time=datetime.now(timezone.utc), data=data))


def answered(sequence: int, issue_id: str, confirmed: bool, satisfaction: int | None = None,
             comment: str | None = None, answered_at: str = "2026-11-24T02:00:00Z"):
    """intake's ResidentAnswered: the resident proved by their tracking code (in intake) answered."""
    data = {"issue_id": issue_id, "confirmed": confirmed, "satisfaction": satisfaction, "comment": comment,
            "answered_at": answered_at}
    return from_cloudevent(to_cloudevent("intake", "ResidentAnswered", sequence=sequence, prevsequence=None,
                                         subject=issue_id, time=datetime.now(timezone.utc), data=data))


def confirm(app: CaseworkApplication, case_id: str, confirmed: bool, satisfaction: int | None = None,
            issue_id: str | None = None):
    """The case after its resident (or the resident of `issue_id`) answered through intake."""
    sequence = (app.recorder.max_tracking_id("intake") or 0) + 1  # the next of intake's log
    app.process(answered(sequence, issue_id or app.get_case(case_id).issue_id, confirmed, satisfaction))
    return app.get_case(case_id)


def minuted(sequence: int, meeting_id: str, resolutions: list[dict], minuted_at: str = "2026-12-10T02:00:00Z"):
    data = {"meeting_id": meeting_id, "minuted_at": minuted_at, "resolutions": resolutions, "disagreements": []}
    return from_cloudevent(to_cloudevent("meetings", "MeetingMinuted", sequence=sequence, prevsequence=None,
                                         subject=meeting_id, time=datetime.now(timezone.utc), data=data))


STAFF = {"role": "community_worker", "name": "李娜"}
PROPERTY = {"role": "property", "name": "王师傅"}
