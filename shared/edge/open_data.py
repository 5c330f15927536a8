"""Open data (开放数据): anonymised tables for researchers and the press, as CSV or JSON.

Each service says which columns a table has; this module only shapes them. A table carries no name, phone,
room or free text a person typed: places down to the building, organisations, categories, times and counts.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from shared.edge.http import Reply
from shared.errors import InvalidInput

FORMATS = ("csv", "json")
LICENCE = "CC BY 4.0"
TABLE = Reply("the table: ?format=csv (default, UTF-8 with BOM) or json {table, about, columns, rows}",
              ("text/csv", "application/json"))  # what table_response answers


def table_format(request: Request) -> str:
    value = request.args.get("format", "csv")
    if value not in FORMATS:
        raise InvalidInput("format must be csv or json", "format", "format 必须是 csv 或 json")
    return value


def table_response(request: Request, name: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]],
                   about: Mapping[str, Any]) -> Response:
    """`rows` (only `columns` of each) as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese)
    or as JSON {about, columns, rows}; `about` says what the table covers (its month, its source)."""
    picked = [{c: row.get(c) for c in columns} for row in rows]
    meta = {**about, "licence": LICENCE}
    if table_format(request) == "json":
        body = json.dumps({"table": name, "about": meta, "columns": list(columns), "rows": picked}, ensure_ascii=False)
        return Response(body, content_type="application/json; charset=utf-8")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in picked)
    suffix = "-".join(str(v) for v in about.values() if isinstance(v, str) and len(v) <= 20)
    return Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}{"-" + suffix if suffix else ""}.csv"'})


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value
