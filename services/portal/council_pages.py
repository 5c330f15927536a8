"""The council's public pages (mixed into PortalService), where a case's trace on the progress page links to:
a meeting's public record (议事公示: agenda, vote counts, minutes) and a month's results release (议事成果)."""
from __future__ import annotations

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.portal import reports
from services.portal.fresh import PUBLIC_SECONDS
from services.portal.i18n import chosen
from services.portal.pages import page, render
from services.portal.staff_words import KIND


class CouncilPages:
    @http("GET", "/meetings/<string:meeting_id>")
    @page("/meetings/{id}")
    def public_meeting(self, request: Request, meeting_id: str) -> Response:
        lang = chosen(request)["lang"]
        meeting = self.up.meetings.get(f"/meetings/{meeting_id}/public", lang, fresh_for=PUBLIC_SECONDS)
        return render(request, "meeting_public.html", meeting=meeting, kinds=KIND)

    @http("GET", "/results")
    @page("/results")
    def public_results(self, request: Request) -> Response:
        """?month=YYYY-MM (this month by default): the release as meetings published it, or how it stands."""
        month = reports.valid_month(request.args.get("month"), reports.this_month())
        results = self.up.meetings.get("/reports/results", chosen(request)["lang"], {"month": month},
                                       fresh_for=PUBLIC_SECONDS)
        return render(request, "results.html", month=month, results=results)
