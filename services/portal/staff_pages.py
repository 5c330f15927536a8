"""The staff pages' HTTP entrypoints (mixed into PortalService): sign-in, the worklist, a case and its actions.

Every read and command goes to the owning service with the signed-in staff member's own token, so each
service applies its policy and scope to them as to any caller; the portal decides only which forms to offer.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import jwt
from nameko.web.handlers import http
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.portal import photos, signin, staff
from services.portal.fresh import STAFF_SECONDS
from services.portal.i18n import chosen
from services.portal.pages import page, render
from services.portal.session import (CSRF_COOKIE, LOGIN_COOKIE, LOGIN_SECONDS, SESSION_COOKIE, Signer, csrf_ok,
                                     csrf_seed, load_key, set_cookie)
from services.portal.staff_words import ESCALATE_TO, PARTY_KIND
from services.portal.upstream import Refused
from shared.edge.access import ROLES, STAFF
from shared.edge.identity import Staff

SESSION_MOST = 12 * 3600  # a session ends with its token, and after twelve hours at most


class SignedIn:
    """The request's staff member and the token every upstream call carries."""

    def __init__(self, who: Staff, token: str):
        self.who, self.token = who, token

    @property
    def scope_key(self) -> tuple[Any, ...]:
        """What the services decide this member's reads by: a kept answer is shared within it (fresh.py)."""
        return tuple(sorted(self.who.roles)), self.who.community, self.who.party

    @property
    def scope(self) -> str | None:
        if self.who.party and any(r in staff.PARTIES for r in self.who.roles):
            return "scope_party"
        return "scope_community" if self.who.community else None


_signer: Signer | None = None


def signer() -> Signer:
    global _signer
    if _signer is None:
        _signer = Signer(load_key())
    return _signer


def _lang(request: Request) -> str:
    return chosen(request)["lang"]


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/staff") and not target.startswith("//") else "/staff/cases"


def current(request: Request) -> SignedIn | None:
    """The signed-in staff member from the session cookie, verified again (an expired token signs nobody in)."""
    session = signer().loads("session", request.cookies.get(SESSION_COOKIE))
    if not session or not isinstance(session.get("token"), str):
        return None
    try:
        return SignedIn(signin.staff_of(session["token"]), session["token"])
    except signin.SignInFailed:
        return None


def staff_render(request: Request, template: str, who: SignedIn | None, status: int = 200, **context: Any
                 ) -> Response:
    """A staff page: the signed-in member and a CSRF token for its forms (the seed cookie set on first visit)."""
    seed, new = csrf_seed(request)
    response = render(request, template, status, staff=who, csrf=signer().csrf(seed), roles=ROLES,
                      party_kinds=PARTY_KIND, escalate_to=ESCALATE_TO, **context)
    response.headers["Cache-Control"] = "no-store"  # a case's page is for the signed-in member only
    if new:
        set_cookie(request, response, CSRF_COOKIE, seed, 365 * 24 * 3600)
    return response


def signed_in(fn: Callable) -> Callable:
    """A staff page: without a session the browser is sent to sign in (and back); a form without its CSRF token
    is refused; a token the services no longer accept ends the session."""

    @functools.wraps(fn)
    def wrapper(self: Any, request: Request, **kwargs: Any) -> Response:
        who = current(request)
        if who is None:
            return redirect("/staff/login?" + urlencode({"next": request.full_path.rstrip("?")}), code=303)
        if request.method == "POST" and not csrf_ok(request, signer()):
            return staff_render(request, "error.html", who, 403, message="csrf")
        try:
            return fn(self, request, who, **kwargs)
        except Refused as exc:
            if exc.status == 401:
                return _signed_out(request, "/staff/login")
            raise

    return wrapper


def _signed_out(request: Request, to: str) -> Response:
    response = redirect(to, code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _start_session(request: Request, token: str, to: str) -> Response:
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
    seconds = int(min(SESSION_MOST, expires - time.time()))
    response = redirect(_safe_next(to), code=303)
    set_cookie(request, response, SESSION_COOKIE, signer().dumps("session", {"token": token}, seconds), seconds)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


class StaffPages:
    # sign-in ---------------------------------------------------------------------------------------------
    @http("GET", "/staff")
    def staff_home(self, request: Request) -> Response:
        return redirect("/staff/cases", code=303)

    @http("GET", "/staff/login")
    @page("/staff/login")
    def login_form(self, request: Request) -> Response:
        """The embedded provider: a form for the printed token. A real one: off to its authorization endpoint."""
        to = _safe_next(request.args.get("next"))
        if signin.embedded():
            return staff_render(request, "staff/login.html", None, next=to, errors={})
        url, attempt = signin.provider().start(request.host_url)
        response = redirect(url, code=303)
        set_cookie(request, response, LOGIN_COOKIE, signer().dumps("login", attempt | {"next": to}, LOGIN_SECONDS),
                   LOGIN_SECONDS)
        return response

    @http("POST", "/staff/login")
    @page("/staff/login")
    def login(self, request: Request) -> Response:
        to = _safe_next(request.form.get("next"))
        if not signin.embedded():
            return redirect("/staff/login", code=303)
        if not csrf_ok(request, signer()):
            return staff_render(request, "staff/login.html", None, 403, next=to, errors={"token": "csrf"})
        token = "".join((request.form.get("token") or "").split())
        try:
            who = signin.staff_of(token)
        except signin.SignInFailed:
            return staff_render(request, "staff/login.html", None, 401, next=to, errors={"token": "token_bad"})
        if not any(r in STAFF for r in who.roles):
            return staff_render(request, "staff/login.html", None, 403, next=to, errors={"token": "no_staff_role"})
        return _start_session(request, token, to)

    @http("GET", "/staff/callback")
    @page("/staff/callback")
    def callback(self, request: Request) -> Response:
        """The provider's redirect back with the authorization code."""
        attempt = signer().loads("login", request.cookies.get(LOGIN_COOKIE))
        try:
            token, who = signin.provider().finish(request.host_url, attempt, request.args)
        except signin.SignInFailed:
            return staff_render(request, "error.html", None, 401, message="sign_in_failed")
        if not any(r in STAFF for r in who.roles):
            return staff_render(request, "error.html", None, 403, message="no_staff_role")
        return _start_session(request, token, (attempt or {}).get("next", "/staff/cases"))

    @http("POST", "/staff/logout")
    @page("/staff/logout")
    @signed_in
    def logout(self, request: Request, who: SignedIn) -> Response:
        return _signed_out(request, "/staff/login")

    # the worklist (问题台账) -------------------------------------------------------------------------------
    @http("GET", "/staff/cases")
    @page("/staff/cases")
    @signed_in
    def worklist(self, request: Request, who: SignedIn) -> Response:
        filters = staff.query(request.args, who.who)
        cases = self.up.casework.get("/cases", _lang(request), staff.ledger_params(filters), token=who.token,
                                     fresh_for=STAFF_SECONDS, scope=who.scope_key)["cases"]
        page_no = int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1
        listed = staff.worklist(cases, page_no)
        return staff_render(request, "staff/cases.html", who, filters=filters, listed=listed,
                            page_url=lambda n: "/staff/cases?" + urlencode(filters | {"page": n}))

    # a case ------------------------------------------------------------------------------------------------
    @http("GET", "/staff/cases/<string:case_id>")
    @page("/staff/cases/{id}")
    @signed_in
    def case_page(self, request: Request, who: SignedIn, case_id: str) -> Response:
        return self._case(request, who, case_id, done=request.args.get("done"))

    @http("POST", "/staff/cases/<string:case_id>/<string:action>")
    @page("/staff/cases/{id}/{action}")
    @signed_in
    def case_action(self, request: Request, who: SignedIn, case_id: str, action: str) -> Response:
        """One action's form, sent as the owning service's command with the staff member's token."""
        if action not in staff.ACTIONS and action != "photo":
            return staff_render(request, "error.html", who, 404)
        key = staff.form_key(request.form.get("key"))
        body = staff.command_body(action, request.form) if action != "photo" else {
            "approved": request.form.get("approved") == "yes"}
        try:
            if action == "photo":  # a photo's review: intake shows it publicly once approved
                self.up.intake.post(f"/photos/{quote(request.form.get('photo_id') or '-')}/review", body,
                                    _lang(request), token=who.token)
            elif action == "merge":
                case = self.up.casework.get(f"/cases/{quote(case_id)}", _lang(request), token=who.token)
                self.up.intake.post(f"/issues/{quote(case['issue_id'])}/merge", body, _lang(request), token=who.token)
            else:
                self.up.casework.post(f"/cases/{quote(case_id)}/{staff.ACTIONS[action][1]}", body, _lang(request),
                                      headers={"Idempotency-Key": key}, token=who.token)
        except Refused as exc:
            if exc.status == 401:
                raise
            errors = {"photo" if action == "photo" else staff.error_field(action, exc.field): exc.detail(_lang(request))}
            return self._case(request, who, case_id, errors=errors, values=request.form, status=exc.status)
        return redirect(f"/staff/cases/{quote(case_id)}?" + urlencode({"done": action}), code=303)

    @http("GET", "/staff/photos/<string:photo_id>")
    @page("/staff/photos/{id}")
    @signed_in
    def staff_photo(self, request: Request, who: SignedIn, photo_id: str) -> Response:
        """A photo under review, as intake shows it to this staff member."""
        return photos.picture(self.up.intake, photo_id, who.token)

    @staticmethod
    def _reads_notes(who: SignedIn) -> bool:
        return any(r in staff.NOTE_READERS for r in who.who.roles)

    def _case(self, request: Request, who: SignedIn, case_id: str, done: str | None = None,
              errors: dict[str, str] | None = None, values: Any = None, status: int = 200) -> Response:
        lang, path = _lang(request), f"/cases/{quote(case_id)}"
        # after the member's own command (done, or refused), the case as it is now; else as of a few seconds
        kept = {"fresh_for": 0 if done or errors else STAFF_SECONDS, "scope": who.scope_key, "token": who.token}
        reads = [path, f"{path}/history"] + ([f"{path}/notes"] if self._reads_notes(who) else [])
        case, trail, *notes = self.up.fresh.together([lambda p=p: self.up.casework.get(p, lang, **kept)
                                                      for p in reads])
        case, trail = dict(case), staff.history(trail)  # the answers may be shared (fresh.py)
        case["light"], case["next_due"] = staff.light(case), staff.next_due(case)
        pictures = photos.listed(self.up.intake, case.get("issue_id"), who.token, kept["fresh_for"], who.scope_key)
        return staff_render(request, "staff/case.html", who, status, case=case, trail=trail, photos=pictures,
                            may_review=any(r in staff.WORKERS for r in who.who.roles),
                            actions=staff.actions_for(who.who, case), fields=staff.FIELDS, errors=errors or {},
                            notes=notes[0]["notes"] if notes else None, extension=staff.pending_extension(case),
                            note_readers=staff.NOTE_READERS,
                            values=values or {}, done=done if done in staff.ACTIONS or done == "photo" else None,
                            key=staff.form_key(None))
