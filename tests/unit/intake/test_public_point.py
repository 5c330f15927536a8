"""A resident's optional point on a map (纬度、经度): kept as sent for staff, shown publicly no finer than the
building (shared/masking.py POINT_DECIMALS) wherever the public reads an issue."""
from services.intake import open311
from services.intake.progress import progress_view
from services.intake.projections import case_so_far, list_issues
from shared.masking import public_data
from tests.unit.intake.test_demand_map import index, intake, lamp  # noqa: F401 (the fixture)

EXACT = (31.230123, 121.470456)  # a window, not a building
PUBLIC = {"lat": 31.23, "lon": 121.47}


def test_a_point_is_kept_exact_and_read_publicly_at_the_buildings_precision(intake):
    app, db, _ = intake
    issue, _ = app.report_issue(lamp("3", point=EXACT))
    index(app, db)
    kept = app.get_issue(str(issue.id))
    assert (kept.report["location"]["lat"], kept.report["location"]["lon"]) == EXACT  # staff's record

    by_id = progress_view(kept, case_so_far(db, str(issue.id)), None, by_tracking_code=False)
    [listed] = list_issues(db, {}, 10, 0)
    [request] = [open311.request_view(open311.doc_of(kept, case_so_far(db, str(issue.id))))]
    assert {k: by_id["location"][k] for k in PUBLIC} == PUBLIC
    assert {k: listed["location"][k] for k in PUBLIC} == PUBLIC
    assert (request["lat"], request["long"]) == (PUBLIC["lat"], PUBLIC["lon"])


def test_public_data_rounds_a_point_wherever_a_location_is_nested():
    masked = public_data({"facts": [{"location": {"community": "幸福里", "unit": "2", "lat": EXACT[0],
                                                  "lon": EXACT[1]}}]})
    assert masked["facts"][0]["location"] == {"community": "幸福里", "unit": None, **PUBLIC}
