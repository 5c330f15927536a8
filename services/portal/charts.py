"""Charts of the report tables, drawn as SVG by pygal on the server (readable without JavaScript).

Each chart is embedded as an image (a data: URL): an image runs none of the SVG's script and needs no inline
style on the page (the page's CSP allows neither), prints as it shows, and costs no extra request. Its
alternative text says it draws the table beside it, which holds the same figures for screen readers.
"""
from __future__ import annotations

import base64
import functools
from typing import Any

import pygal
from pygal.style import Style

from services.portal.reports import Table

FONT = 'system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1a1a1a", foreground_strong="#1a1a1a",
              foreground_subtle="#8a8a8a", colors=("#9b1c1c", "#0b4f9c", "#1d5e20", "#7a4d00", "#4a4a4a"),
              font_family=FONT, label_font_family=FONT, major_label_font_family=FONT, value_font_family=FONT,
              title_font_family=FONT, legend_font_family=FONT, title_font_size=18, legend_font_size=14,
              label_font_size=13, major_label_font_size=13)
OPTIONS: dict[str, Any] = {"style": STYLE, "js": [], "disable_xml_declaration": True, "width": 720, "height": 360,
                           "legend_at_bottom": True, "print_values": False, "truncate_label": 12}


def _data_url(chart: Any) -> str:
    svg = chart.render(is_unicode=True).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _frozen(table: Table) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    return tuple(table.columns), tuple(tuple(row) for row in table.rows)


def rates_over_months(table: Table, rate_columns: list[int], title: str) -> str:
    """Lines of the rates (0-100 %) over the months of `table` (its first column)."""
    return _rates(*_frozen(table), tuple(rate_columns), title)


def bars(table: Table, title: str, most: int = 10) -> str:
    """Horizontal bars of a count table (label, count), the largest on top; whole numbers on the axis."""
    return _bars(*_frozen(table), title, most)


# Drawing is most of a report page's own time: the same figures give the same picture, drawn once.
@functools.lru_cache(maxsize=256)
def _rates(columns: tuple[str, ...], table_rows: tuple[tuple[Any, ...], ...], rate_columns: tuple[int, ...],
           title: str) -> str:
    chart = pygal.Line(title=title, range=(0, 100), value_formatter=lambda v: f"{v:.0f}%", **OPTIONS)
    chart.x_labels = [row[0] for row in table_rows]
    for index in rate_columns:
        chart.add(columns[index], [_number(row[index]) for row in table_rows])
    return _data_url(chart)


@functools.lru_cache(maxsize=256)
def _bars(columns: tuple[str, ...], table_rows: tuple[tuple[Any, ...], ...], title: str, most: int) -> str:
    rows = table_rows[:most][::-1]
    top = max([int(r[1]) for r in rows] or [1])
    step = max(1, -(-top // 5))
    widest = max([len(str(r[0])) for r in rows] or [1])
    options = OPTIONS | {"height": 90 + 44 * len(rows), "print_values": True, "show_legend": False,
                         "truncate_label": -1, "margin_left": 14 * widest}  # pygal measures Latin letters
    chart = pygal.HorizontalBar(title=title, y_labels=list(range(0, top + step, step)), **options)
    chart.x_labels = [str(r[0]) for r in rows]
    chart.add(columns[1], [r[1] for r in rows])
    return _data_url(chart)


def _number(text: Any) -> float | None:
    """A table's '72.5%' back to 72.5 for the chart; '—' (no data) leaves a gap."""
    return float(text.rstrip("%")) if isinstance(text, str) and text.endswith("%") else None
