"""While the store is down a command answers 503 with Retry-After (problem details), never 500."""
import json

import psycopg
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.edge.access import public
from shared.edge.http import route
from shared.store.persistence import PoolExhausted


class Edge:
    name = "intake"

    def __init__(self, failure):
        self.failure = failure

    @route("POST", "/issues", public("residents report without an account"))
    def report(self, request):
        raise self.failure


def answer(failure):
    request = Request(EnvironBuilder(method="POST", path="/issues").get_environ())
    return Edge(failure).report(request)


def test_a_store_outage_answers_503_with_retry_after_in_chinese_first():
    for failure in (psycopg.OperationalError("server closed the connection unexpectedly"), PoolExhausted("busy")):
        response = answer(failure)
        body = json.loads(response.get_data())
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert body["title"] == "服务暂不可用" and "retry later" in body["detail_en"]


def test_a_bug_is_still_a_500():
    assert answer(KeyError("x")).status_code == 500
