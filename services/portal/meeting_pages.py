"""The meeting pages (mixed into PortalService): the schedule and archive, and one meeting from agenda to
minutes, each step a form sending meetings' command with the signed-in member's token.

Secret-ballot codes are answered by meetings once, to the recorder who tabled the motion: the portal shows
them on a printable page in that response and keeps no copy."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from nameko.web.handlers import http
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.portal import meeting_forms as forms
from services.portal.fresh import STAFF_SECONDS
from services.portal.i18n import chosen
from services.portal.pages import page
from services.portal.staff import form_key
from services.portal.staff_pages import SignedIn, signed_in, staff_render
from services.portal.staff_words import CHOICE, FIXED, KIND, MEETING_ROLE, MEETING_STATUS
from services.portal.upstream import Refused

ARCHIVE_MOST = 100


def _lang(request: Request) -> str:
    return chosen(request)["lang"]


def _render(request: Request, template: str, who: SignedIn, status: int = 200, **context: Any) -> Response:
    return staff_render(request, template, who, status, kinds=KIND, meeting_roles=MEETING_ROLE,
                        meeting_statuses=MEETING_STATUS, vote_choices=CHOICE, fixed_roles=FIXED, **context)


class MeetingPages:
    @http("GET", "/staff/meetings")
    @page("/staff/meetings")
    @signed_in
    def meetings(self, request: Request, who: SignedIn) -> Response:
        return self._archive(request, who)

    @http("POST", "/staff/meetings")
    @page("/staff/meetings")
    @signed_in
    def schedule(self, request: Request, who: SignedIn) -> Response:
        try:
            _, meeting = self.up.meetings.post("/meetings", forms.schedule(request.form), _lang(request),
                                               headers={"Idempotency-Key": forms_key(request)}, token=who.token)
        except Refused as exc:
            if exc.status == 401:
                raise
            return self._archive(request, who, {forms.error_field("schedule", exc.field): exc.detail(_lang(request))},
                                 request.form, exc.status)
        return redirect(f"/staff/meetings/{quote(meeting['meeting_id'])}", code=303)

    def _archive(self, request: Request, who: SignedIn, errors: dict[str, str] | None = None, values: Any = None,
                 status: int = 200) -> Response:
        query = {k: request.args[k] for k in ("from", "to", "kind") if request.args.get(k)}
        listed = self.up.meetings.get("/meetings", _lang(request), query | {"limit": ARCHIVE_MOST}, token=who.token,
                                      fresh_for=STAFF_SECONDS, scope=who.scope_key)
        return _render(request, "staff/meetings.html", who, status, meetings=listed["meetings"], query=query,
                       may_schedule=any(r in forms.ORGANISERS for r in who.who.roles), errors=errors or {},
                       values=values or {}, key=forms_key(None))

    @http("GET", "/staff/meetings/<string:meeting_id>")
    @page("/staff/meetings/{id}")
    @signed_in
    def meeting_page(self, request: Request, who: SignedIn, meeting_id: str) -> Response:
        return self._meeting(request, who, meeting_id, done=request.args.get("done"))

    @http("POST", "/staff/meetings/<string:meeting_id>/<string:action>")
    @page("/staff/meetings/{id}/{action}")
    @signed_in
    def meeting_action(self, request: Request, who: SignedIn, meeting_id: str, action: str) -> Response:
        if action not in forms.ACTIONS and action != "confirm":
            return staff_render(request, "error.html", who, 404)
        lang, base = _lang(request), f"/meetings/{quote(meeting_id)}"
        try:
            if action == "confirm":  # a topic casework escalated, into this meeting's agenda
                proposal = quote(request.form.get("confirm-proposal_id") or "-")
                body = {"meeting_id": meeting_id, "draft_plan": (request.form.get("confirm-draft_plan") or "").strip()}
                self.up.meetings.post(f"/proposals/{proposal}/confirm", body, lang, token=who.token)
            else:
                path = forms.motion_path(action, request.form)
                _, answer = self.up.meetings.post(f"{base}/{path}", forms.body(action, request.form), lang,
                                                  headers={"Idempotency-Key": forms_key(request)}, token=who.token)
                if (answer or {}).get("ballots"):  # once only: printed from this page, kept nowhere
                    meeting = self.up.meetings.get(base, lang, token=who.token)
                    motion = next((m for m in meeting["motions"] if m["motion_id"] == answer.get("motion_id")), {})
                    return _render(request, "staff/ballots.html", who, 201, meeting=meeting, motion=motion,
                                   ballots=answer["ballots"])
        except Refused as exc:
            if exc.status == 401:
                raise
            field = "confirm" if action == "confirm" else forms.error_field(action, exc.field)
            return self._meeting(request, who, meeting_id, errors={field: exc.detail(lang)}, values=request.form,
                                 status=exc.status)
        return redirect(f"/staff/meetings/{quote(meeting_id)}?" + urlencode({"done": action}), code=303)

    def _meeting(self, request: Request, who: SignedIn, meeting_id: str, done: str | None = None,
                 errors: dict[str, str] | None = None, values: Any = None, status: int = 200) -> Response:
        meeting = self.up.meetings.get(f"/meetings/{quote(meeting_id)}", _lang(request), token=who.token)
        names = {p["participant_id"]: p["name"] for p in meeting.get("participants", [])}
        return _render(request, "staff/meeting.html", who, status, meeting=meeting, names=names,
                       actions=forms.actions_for(who.who.roles, meeting), fields=forms.ACTIONS,
                       rows=range(forms.RESOLUTION_ROWS), errors=errors or {}, values=values or {},
                       done=done if done in forms.ACTIONS or done == "confirm" else None, key=forms_key(None),
                       may_confirm=any(r in forms.ORGANISERS for r in who.who.roles))


def forms_key(request: Request | None) -> str:
    """The form's idempotency key (a double submit is recorded once), or a new one for a form to show."""
    return form_key(request.form.get("key") if request is not None else None)
