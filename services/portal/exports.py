"""A report's tables as downloads: CSV (UTF-8 with BOM, so Excel on a Chinese Windows reads it) and XLSX
(openpyxl, one sheet per table)."""
from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from werkzeug.wrappers import Response

from services.portal.reports import Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written as text (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(tables: list[Table]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for i, table in enumerate(tables):
        if i:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows([[_cell(v) for v in row] for row in table.rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: list[Table]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.title[:31].replace("/", "-"))  # Excel's limit on a sheet's name
        sheet.append(table.columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(60, 4 + 2 * width)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(tables: list[Table], name: str, kind: str) -> Response:
    body, mimetype = (to_csv(tables), "text/csv; charset=utf-8") if kind == "csv" else (to_xlsx(tables), XLSX)
    return Response(body, content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"',
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
