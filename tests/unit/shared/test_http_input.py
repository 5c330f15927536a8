"""The HTTP edge reads JSON only as JSON: a cross-site form (text/plain) is refused, a chunked body is read,
and unknown query parameters are refused by name."""
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.errors import DomainError, InvalidInput
from shared.edge.http import known_args, read_json

BODY = b'{"channel": "online", "title": "t"}'


def request(body: bytes = BODY, content_type: str | None = "application/json", chunked: bool = False,
            query: str = "") -> Request:
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    builder = EnvironBuilder(method="POST", path="/issues", query_string=query, headers=headers,
                             content_type=content_type, data=body)
    environ = builder.get_environ()
    if chunked:  # as a WSGI server that decodes chunks passes it: no Content-Length, the body on wsgi.input
        environ.pop("CONTENT_LENGTH", None)
    return Request(environ)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          None])
def test_a_json_body_not_sent_as_json_is_refused_with_415(content_type):
    with pytest.raises(DomainError) as refused:
        read_json(request(content_type=content_type))
    assert refused.value.status == 415 and refused.value.field == "Content-Type"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json"])
def test_json_media_types_are_read(content_type):
    assert read_json(request(content_type=content_type))["channel"] == "online"


def test_an_empty_body_needs_no_media_type():
    assert read_json(request(b"", content_type=None)) is None


def test_a_chunked_body_is_read_whole():
    assert read_json(request(chunked=True)) == {"channel": "online", "title": "t"}


def test_a_chunked_body_over_the_limit_is_refused():
    with pytest.raises(InvalidInput) as refused:
        read_json(request(b'{"x": "' + b"a" * 70_000 + b'"}', chunked=True))
    assert refused.value.field == "body"


def test_an_unknown_query_parameter_is_refused_by_name():
    assert known_args(request(query="month=2026-11&limit=5"), ("month", "limit")) is None
    with pytest.raises(InvalidInput) as refused:
        known_args(request(query="month=2026-11&catgory=x"), ("month", "category"))
    assert refused.value.field == "catgory"
