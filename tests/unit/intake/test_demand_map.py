"""The demand map (需求地图): issues per building and category with their cases' state, public at building
level; and the recurring-issue detector, which proposes a council topic when a place keeps reporting the same."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from services.intake.application import IntakeApplication
from services.intake.demand_map import demand_map, geojson, period
from services.intake.projections import CaseProgress, IssueIndex
from services.intake.published import publish
from services.intake.recurring import THRESHOLD, detect
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.errors import InvalidInput
from shared.store.persistence import Database
from shared.store.projection import catch_up, ensure_tables
from tests.support.factories import report

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


@pytest.fixture
def intake(tmp_path):
    now = [NOW]
    app = IntakeApplication(Settings(None, "", tmp_path / "var"), env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                            clock=lambda: now[0])
    db = Database("intake", Settings(None, "", tmp_path / "var"))
    ensure_tables(db, [CaseProgress()])
    yield app, db, now
    db.close()
    app.close()


def lamp(building: str, unit: str = "1", point: tuple[float, float] | None = None, title: str = "路灯不亮") -> dict:
    location = {"community": "幸福里", "building": building, "unit": unit, "room": "502"}
    if point:
        location |= {"lat": point[0], "lon": point[1]}
    return report(title=title, location=location)


def case_step(db, sequence: int, name: str, data: dict) -> None:
    """casework's news, as the consumer writes it into the case progress view."""
    event = from_cloudevent(to_cloudevent("casework", name, sequence=sequence, prevsequence=None,
                                          subject=data["case_id"], time=NOW, data=data))
    with db.transaction() as tx:
        CaseProgress().apply(tx, event)


def opened(db, sequence: int, issue_id: str, resolve_by: str) -> None:
    case_step(db, sequence, "CaseOpened", {"case_id": "0b7a7d64-3f7e-4b8e-8f6a-00000000000" + str(sequence),
                                           "issue_id": issue_id, "tier": "routine", "category": "设施维护",
                                           "due": {"resolve_by": resolve_by}, "opened_at": "2026-11-19T02:00:00Z"})


def index(app, db) -> None:
    catch_up(app, db, list(app.projections))  # as a process does at its start


def test_the_map_counts_each_building_by_its_cases_state_and_shows_the_public_no_unit_or_room(intake):
    app, db, _ = intake
    overdue, _ = app.report_issue(lamp("3", point=(31.2301, 121.4701)))
    on_time, _ = app.report_issue(lamp("3", unit="2", point=(31.2303, 121.4703)))
    app.report_issue(lamp("5"))
    index(app, db)
    opened(db, 1, str(overdue.id), "2026-11-19T16:00:00Z")  # past due at NOW
    opened(db, 2, str(on_time.id), "2026-11-30T16:00:00Z")
    public = demand_map(db, NOW - 30 * DAY, NOW + DAY, None, NOW, staff=False)
    three = next(b for b in public["buildings"] if b["building"] == "3")
    assert (three["issues"], three["open"], three["overdue"]) == (2, 1, 1)
    assert three["point"] == {"lat": 31.23, "lon": 121.47}  # the building's, never one report's: no finer than ~100 m
    text = json.dumps(public, ensure_ascii=False)
    assert "502" not in text and "units" not in text and str(overdue.id) not in text
    staff = demand_map(db, NOW - 30 * DAY, NOW + DAY, None, NOW, staff=True)
    three = next(b for b in staff["buildings"] if b["building"] == "3")
    assert three["units"] == {"1": 1, "2": 1} and str(overdue.id) in three["issue_ids"]


def test_a_closed_case_is_counted_closed_and_geojson_has_only_buildings_with_a_point(intake):
    app, db, _ = intake
    fixed, _ = app.report_issue(lamp("3", point=(31.23, 121.47)))
    app.report_issue(lamp("5"))
    index(app, db)
    opened(db, 1, str(fixed.id), "2026-11-30T16:00:00Z")
    case_step(db, 2, "CaseClosed", {"case_id": "0b7a7d64-3f7e-4b8e-8f6a-000000000001", "issue_id": str(fixed.id),
                                    "closed_at": "2026-11-20T01:00:00Z"})
    result = demand_map(db, NOW - 30 * DAY, NOW + DAY, "设施维护", NOW, staff=False)
    assert next(b for b in result["buildings"] if b["building"] == "3")["closed"] == 1
    collection = geojson(result)
    assert [f["geometry"]["coordinates"] for f in collection["features"]] == [[121.47, 31.23]]
    assert collection["features"][0]["properties"]["categories"]["设施维护"]["closed"] == 1


def test_a_period_is_dates_or_times_and_from_comes_first():
    start, end = period("2026-11-01", "2026-11-30", NOW)
    assert (start, end) == (datetime(2026, 10, 31, 16, tzinfo=timezone.utc), datetime(2026, 11, 30, 16, tzinfo=timezone.utc))
    for bad in (("2026-12-01", "2026-11-01"), ("yesterday", None)):
        with pytest.raises(InvalidInput) as refused:
            period(*bad, NOW)
        assert refused.value.field == "from"


def test_the_same_issue_reported_at_one_place_three_times_in_30_days_proposes_a_council_topic_once(intake):
    app, db, now = intake
    for n in range(THRESHOLD - 1):
        app.report_issue(lamp("7", unit=str(n)))
    app.report_issue(lamp("8"))
    index(app, db)
    assert detect(app, db) == []  # two at building 7, one at 8: not yet
    app.report_issue(lamp("7", unit="9"))
    index(app, db)
    assert len(detect(app, db)) == 1
    assert detect(app, db) == []  # proposed once per window, however often the detector runs
    found = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p
             and p.name == "RecurringIssueFound"]
    assert len(found) == 1 and found[0].data["issues"] == THRESHOLD and found[0].data["building"] == "7"
    assert found[0].data["topic_title"] == "幸福里7号楼近30日3次反映“设施维护”问题,建议提交议事会协商"
    assert "502" not in json.dumps(found[0].data, ensure_ascii=False)
    now[0] = NOW + 31 * DAY  # a month on, the issues are outside the window: nothing recurs
    assert detect(app, db) == []
