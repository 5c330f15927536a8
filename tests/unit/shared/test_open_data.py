"""Open data tables: CSV a spreadsheet opens in Chinese, or JSON; only the declared columns leave."""
import csv
import io
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.edge.open_data import table_response
from shared.errors import InvalidInput


def request(query: str = "") -> Request:
    return Request(EnvironBuilder(path="/open-data/x", query_string=query).get_environ())


ROWS = [{"category": "设施维护", "building": "3号楼", "votes": 2, "overdue": True, "title": "张三家门口灯坏了"}]


def test_csv_has_a_byte_order_mark_a_header_and_only_the_declared_columns():
    response = table_response(request(), "demand-list", ("category", "building", "votes", "overdue"), ROWS,
                              {"month": "2026-11"})
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and text.startswith("\ufeff")
    assert "demand-list-2026-11.csv" in response.headers["Content-Disposition"]
    assert list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")))) == [
        {"category": "设施维护", "building": "3号楼", "votes": "2", "overdue": "true"}]
    assert "张三" not in text


def test_json_says_what_the_table_covers_and_its_licence():
    body = json.loads(table_response(request("format=json"), "ledger", ("category",), ROWS,
                                     {"month": "2026-11"}).get_data())
    assert body["rows"] == [{"category": "设施维护"}] and body["about"] == {"month": "2026-11", "licence": "CC BY 4.0"}


def test_an_unknown_format_is_refused_by_name():
    with pytest.raises(InvalidInput) as refused:
        table_response(request("format=xlsx"), "ledger", ("category",), ROWS, {})
    assert refused.value.field == "format"
