"""intake's abuse limits on public writes (防刷), configured per deployment (shared/edge/limits.py):

- `YISHI_LIMIT_REPORTS_PER_CLIENT` (20): reports per client address per window;
- `YISHI_LIMIT_REPORTS_PER_PHONE` (10): reports giving one phone number per window;
- `YISHI_LIMIT_CODE_GUESSES` (30): tracking codes per client per window that name no issue — past it, every
  lookup by code (progress, confirmation) is refused until the window ends, so codes cannot be guessed.

0 turns a limit off (the benchmarks and the test fixtures do). Staff entering reports with their token (the
hotline desk, a visit recorded afterwards) are not limited: one desk reports for many residents.
"""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from shared.edge.access import STAFF, identified
from shared.edge.limits import Limit, client_of, phone_key

REPORTS_PER_CLIENT = Limit.from_env("REPORTS_PER_CLIENT", 20, "提交诉求")
REPORTS_PER_PHONE = Limit.from_env("REPORTS_PER_PHONE", 10, "同一电话提交诉求")
CODE_GUESSES = Limit.from_env("CODE_GUESSES", 30, "查询码核对失败")


def check_report(request: Request, route: str, body: Any) -> None:
    """Count a public report against its client's and its phone's limits (429 past either)."""
    if identified("intake", route, request, STAFF) is not None:
        return
    REPORTS_PER_CLIENT.hit(client_of(request))
    reporter = body.get("reporter") if isinstance(body, dict) else None
    REPORTS_PER_PHONE.hit(phone_key(reporter.get("phone")) if isinstance(reporter, dict) and
                          isinstance(reporter.get("phone"), str) else None)


def before_code_lookup(request: Request) -> None:
    """A client whose wrong codes spent the window is refused any lookup by code."""
    if CODE_GUESSES.spent(client_of(request)):
        CODE_GUESSES.hit(client_of(request))  # raises, with Retry-After


def wrong_code(request: Request) -> None:
    CODE_GUESSES.hit(client_of(request))
