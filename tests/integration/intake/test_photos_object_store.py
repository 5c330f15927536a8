"""Photos in an S3-compatible object store (YISHI_PHOTOS_BUCKET): the same API as on the var dir, every picture
an object in the bucket and no file on the host; a store that does not answer is a 503 and records nothing."""
import io

import pytest
import requests
from PIL import Image

from tests.support.identity import staff
from tests.support.processes import Process
from tests.support.s3_server import CREDENTIALS, S3Server
from tests.unit.intake.test_photos import GPS, jpeg_with_gps

BUCKET = "yishi-photos"


@pytest.fixture
def stored(amqp_uri, tmp_path):
    s3 = S3Server(tmp_path).start()
    s3.client().create_bucket(Bucket=BUCKET)
    env = {"AMQP_URI": amqp_uri, "YISHI_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": "",
           "YISHI_PHOTOS_BUCKET": BUCKET, "YISHI_PHOTOS_S3_ENDPOINT": s3.url, **CREDENTIALS}
    web = Process("intake", "web", env, tmp_path).start()
    try:
        yield web.url, tmp_path / "var", s3
    finally:
        web.stop()
        s3.stop()


def report(url):
    body = {"channel": "online", "title": "楼道灯坏了", "description": "一片黑", "reporter": {"name": "张三"},
            "location": {"community": "幸福里", "building": "3"}}
    issue = requests.post(f"{url}/issues", json=body, timeout=5).json()
    return issue["tracking_code"], issue["issue_id"]


def send(url, code):
    return requests.post(f"{url}/issues/{code}/photos", data=jpeg_with_gps(), timeout=15,
                         headers={"Content-Type": "image/jpeg"})


def test_a_photo_is_an_object_in_the_bucket_and_served_from_it(stored):
    url, var, s3 = stored
    code, issue_id = report(url)
    sent = send(url, code)
    assert sent.status_code == 201, sent.text
    photo_id = sent.json()["photo_id"]
    bucket = s3.client()
    assert [o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]] == [f"photos/{photo_id}.jpg"]
    kept = bucket.get_object(Bucket=BUCKET, Key=f"photos/{photo_id}.jpg")
    assert kept["ContentType"] == "image/jpeg"
    data = kept["Body"].read()
    assert not Image.open(io.BytesIO(data)).getexif().get_ifd(GPS)  # stripped before it left intake
    assert not (var / "intake" / "photos").exists()  # nothing on this host

    worker = staff("community_worker", "李娜")
    assert requests.post(f"{url}/photos/{photo_id}/review", json={"approved": True}, headers=worker,
                         timeout=5).status_code == 200
    picture = requests.get(f"{url}/photos/{photo_id}", timeout=5)
    assert picture.status_code == 200 and picture.content == data


def test_a_store_that_does_not_answer_is_a_503_and_the_photo_is_not_recorded(stored):
    url, _, s3 = stored
    code, issue_id = report(url)
    assert send(url, code).status_code == 201
    s3.stop()
    down = send(url, code)
    assert down.status_code == 503 and down.json()["field"] == "photo" and down.headers["Retry-After"] == "5"
    listed = requests.get(f"{url}/issues/{issue_id}/photos", headers=staff("community_worker", "李娜"), timeout=5)
    assert len(listed.json()["photos"]) == 1  # no record names a picture the store never kept
    first = listed.json()["photos"][0]["photo_id"]
    assert requests.get(f"{url}/photos/{first}", headers=staff("community_worker", "李娜"),
                        timeout=15).status_code == 503
