"""Photos on a report through intake's HTTP API: stored without EXIF under the var dir, public only once staff
approved them, at most three."""
import io

import pytest
import requests
from PIL import Image

from tests.support.identity import staff
from tests.support.processes import Process
from tests.unit.intake.test_photos import GPS, jpeg_with_gps


@pytest.fixture
def intake(amqp_uri, tmp_path):
    env = {"AMQP_URI": amqp_uri, "YISHI_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": ""}
    web = Process("intake", "web", env, tmp_path).start()
    yield web.url, tmp_path / "var"
    web.stop()


def test_a_photo_is_stripped_stored_reviewed_and_then_public(intake):
    url, var = intake
    report = {"channel": "online", "title": "楼道灯坏了", "description": "一片黑", "reporter": {"name": "张三"},
              "location": {"community": "幸福里", "building": "3"}}
    issue = requests.post(f"{url}/issues", json=report, timeout=5).json()
    code, issue_id = issue["tracking_code"], issue["issue_id"]
    sent = requests.post(f"{url}/issues/{code}/photos", data=jpeg_with_gps(), timeout=5,
                         headers={"Content-Type": "image/jpeg"})
    assert sent.status_code == 201 and sent.json()["status"] == "pending"
    photo_id = sent.json()["photo_id"]
    stored = list((var / "intake" / "photos").iterdir())
    assert [p.name for p in stored] == [f"{photo_id}.jpg"]
    assert not Image.open(stored[0]).getexif().get_ifd(GPS)  # the phone's position is not kept

    assert requests.get(f"{url}/issues/{issue_id}/photos", timeout=5).json()["photos"] == []  # not reviewed yet
    assert requests.get(f"{url}/photos/{photo_id}", timeout=5).status_code == 404
    worker = staff("community_worker", "李娜")
    listed = requests.get(f"{url}/issues/{issue_id}/photos", headers=worker, timeout=5).json()["photos"]
    assert [p["status"] for p in listed] == ["pending"]
    assert requests.get(f"{url}/photos/{photo_id}", headers=worker, timeout=5).headers["Cache-Control"] == \
        "private, no-store"
    refused = requests.post(f"{url}/photos/{photo_id}/review", json={"approved": True}, timeout=5,
                            headers=staff("property", "王师傅"))
    assert refused.status_code == 403
    reviewed = requests.post(f"{url}/photos/{photo_id}/review", json={"approved": True}, headers=worker, timeout=5)
    assert reviewed.json()["status"] == "approved" and reviewed.json()["reviewed_by"] == "李娜"

    public = requests.get(f"{url}/issues/{issue_id}/photos", timeout=5).json()["photos"]
    assert [p["photo_id"] for p in public] == [photo_id] and "reviewed_by" not in public[0]
    picture = requests.get(f"{url}/photos/{photo_id}", timeout=5)
    assert picture.headers["Content-Type"] == "image/jpeg" and Image.open(io.BytesIO(picture.content)).size == (20, 40)


def test_a_fourth_photo_a_gif_and_a_wrong_code_are_refused_by_name(intake):
    url, _ = intake
    report = {"channel": "online", "title": "垃圾没清", "description": "有异味", "reporter": {"phone": "13812345678"},
              "location": {"community": "幸福里"}}
    code = requests.post(f"{url}/issues", json=report, timeout=5).json()["tracking_code"]
    for _ in range(3):
        assert requests.post(f"{url}/issues/{code}/photos", data=jpeg_with_gps(), timeout=5,
                             headers={"Content-Type": "image/jpeg"}).status_code == 201
    fourth = requests.post(f"{url}/issues/{code}/photos", data=jpeg_with_gps(), timeout=5,
                           headers={"Content-Type": "image/jpeg"})
    assert fourth.status_code == 409 and fourth.json()["field"] == "photo"
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, "GIF")
    typed = requests.post(f"{url}/issues/{code}/photos", data=gif.getvalue(), timeout=5,
                          headers={"Content-Type": "image/gif"})
    assert typed.status_code == 422 and typed.json()["field"] == "Content-Type"
    unknown = requests.post(f"{url}/issues/YS-20260101-AAAAAAAA/photos", data=jpeg_with_gps(), timeout=5,
                            headers={"Content-Type": "image/jpeg"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "tracking_code"
