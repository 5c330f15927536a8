"""The staff's report pages (mixed into PortalService): demand list, results release, rates (三率) per month;
each printable, with its tables as CSV or XLSX (`/staff/reports/stats.xlsx?month=`)."""
from __future__ import annotations

from typing import Any

from nameko.web.handlers import http
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.portal import charts, exports, reports
from services.portal.fresh import MONTHLY_SECONDS, PUBLIC_SECONDS
from services.portal.i18n import Words, chosen
from services.portal.pages import page
from services.portal.reports import Table
from services.portal.staff_pages import SignedIn, signed_in, staff_render
from services.portal.upstream import Refused

LEDGER_MOST = 1000  # ledger rows the category, community and party counts are taken from
RECORDER = "secretary"  # meetings lets the recorder alone release the month's results


def _chart(url: str, title: str) -> dict[str, str]:
    return {"url": url, "title": title}


class ReportPages:
    @http("GET", "/staff/reports")
    def reports_home(self, request: Request) -> Response:
        return redirect("/staff/reports/stats", code=303)

    @http("GET", "/staff/reports/<string:name>")
    @page("/staff/reports/{name}")
    @signed_in
    def report_page(self, request: Request, who: SignedIn, name: str) -> Response:
        """`stats`, `results`, `demand`; `.csv` or `.xlsx` after the name downloads its tables."""
        name, _, kind = name.partition(".")
        if name not in reports.REPORTS or kind not in ("", "csv", "xlsx"):
            return staff_render(request, "error.html", who, 404)
        t = Words(chosen(request)["lang"])
        month = reports.valid_month(request.args.get("month"), reports.this_month())
        tables, pictures, extra = getattr(self, f"_{name}")(who, t, month)
        if kind:
            return exports.download(tables, f"{name}-{month}", kind)
        return staff_render(request, "staff/report.html", who, report=name, month=month, tables=tables,
                            pictures=pictures, **extra)

    @http("POST", "/staff/reports/results")
    @page("/staff/reports/results")
    @signed_in
    def release(self, request: Request, who: SignedIn) -> Response:
        """The recorder releases a month's results through meetings; its refusal is shown on the page."""
        t = Words(chosen(request)["lang"])
        month = reports.valid_month(request.form.get("month"), reports.this_month())
        try:
            self.up.meetings.post("/reports/results", {"month": month}, t.lang, token=who.token)
        except Refused as exc:  # shown beside the form (a 401 ends the session: signed_in)
            if exc.status == 401:
                raise
            tables, pictures, extra = self._results(who, t, month)
            return staff_render(request, "staff/report.html", who, exc.status, report="results", month=month,
                                tables=tables, pictures=pictures, release_error=exc.detail(t.lang), **extra)
        return redirect(f"/staff/reports/results?month={month}", code=303)

    # each report: its tables, the charts drawn from them {table key: {url, title}}, and what else the page shows
    def _demand(self, who: SignedIn, t: Words, month: str) -> tuple[list[Table], dict[str, str], dict[str, Any]]:
        tables = reports.demand_tables(self.up.intake.get("/reports/demand-list", t.lang, {"month": month},
                                                          fresh_for=PUBLIC_SECONDS), t)
        by_category = tables[1]
        pictures = {by_category.key: _chart(charts.bars(by_category, by_category.title), by_category.title)
                    } if by_category.rows else {}
        return tables, pictures, {}

    def _results(self, who: SignedIn, t: Words, month: str) -> tuple[list[Table], dict[str, str], dict[str, Any]]:
        report = self.up.meetings.get("/reports/results", t.lang, {"month": month})
        return reports.results_tables(report, t), {}, {
            "released": report.get("released"), "released_at": report.get("released_at"),
            "may_release": RECORDER in who.who.roles and not report.get("released")}

    def _stats(self, who: SignedIn, t: Words, month: str) -> tuple[list[Table], dict[str, str], dict[str, Any]]:
        months = reports.months_back(month)
        calls = [lambda m=m: self.up.casework.get("/stats", t.lang, reports.month_range(m), fresh_for=MONTHLY_SECONDS)
                 for m in months]
        mine = {"community": who.who.community} if who.who.community else {}  # a community's worker: theirs
        calls.append(lambda: self.up.casework.get("/cases", t.lang, {"limit": LEDGER_MOST, **mine}, token=who.token,
                                                  fresh_for=MONTHLY_SECONDS, scope=who.scope_key)["cases"])
        answers = self.up.fresh.together(calls)
        rates = reports.rates_table(dict(zip(months, answers[:-1])), t)
        cases = answers[-1]
        counts = reports.ledger_tables(cases, month, t)
        pictures = {rates.key: _chart(charts.rates_over_months(rates, [2, 3, 4], t.word("rates_chart")),
                                      t.word("rates_chart"))}
        pictures |= {table.key: _chart(charts.bars(table, table.title), table.title) for table in counts if table.rows}
        return [rates, *counts], pictures, {}
