"""The portal in front of services that do not answer: the board still shows what it can, a report says it was
not sent, and nothing fails with a 500."""
import pytest
import requests

from tests.support.processes import Process, free_port

UPSTREAMS = ("intake", "casework", "meetings", "notifications")


@pytest.fixture
def portal_alone(tmp_path):
    silent = {f"YISHI_{s.upper()}_URL": f"http://127.0.0.1:{free_port()}" for s in UPSTREAMS}  # nobody listens
    portal = Process("portal", "web", silent | {"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}, tmp_path).start()
    yield portal.url
    portal.stop()


def test_the_board_says_which_parts_are_unavailable(portal_alone):
    board = requests.get(portal_alone + "/", timeout=10)
    assert board.status_code == 200
    assert board.text.count("暂时无法获取") == 4
    assert requests.get(portal_alone + "/health", timeout=10).json()["upstreams"]["intake"].startswith("failed")
    assert requests.get(portal_alone + "/health/live", timeout=10).status_code == 200  # alive without upstreams


def test_a_report_that_cannot_be_sent_says_so(portal_alone):
    form = {"title": "灯坏了", "description": "黑", "community": "幸福里", "name": "张三"}
    sent = requests.post(portal_alone + "/report", data=form, timeout=10)
    assert sent.status_code == 503 and sent.headers["Retry-After"] == "5"
    assert "您的内容未提交" in sent.text
    assert requests.get(portal_alone + "/report", timeout=10).status_code == 200  # the form without suggestions
