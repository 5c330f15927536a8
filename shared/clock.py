"""The one clock every service reads: real UTC time, or, in a test deployment only, a test clock.

A test clock (like Stripe's test clocks) is real time plus an offset kept in `<var dir>/test-clock.json`,
which `yishi clock set|advance` write and every process of the deployment reads, so all services move
together and their timers and deadline watchers fire as they would at that time. It is used only under
`YISHI_TEST_CLOCK=1`, and refused where a wrong clock would harm residents: a production deployment.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.contracts.envelope import rfc3339

Clock = Callable[[], datetime]
ENABLE = "YISHI_TEST_CLOCK"
FILE = "test-clock.json"
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
_DURATION = re.compile(r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
                       r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?")


class TestClockRefused(SystemExit):
    """A process asked for a test clock where one is not allowed: it does not start (exit status 1)."""

    __test__ = False  # not a pytest test class

    def __init__(self, reason: str):
        super().__init__(f"yishi: not starting: {ENABLE}=1 is refused here: {reason}")


def real_utcnow() -> datetime:
    return datetime.now(timezone.utc)


def refusal(environ: Mapping[str, str]) -> str | None:
    """Why a test clock is not allowed in this environment, or None: production settings, or a database
    that is not on this machine (a shared or production PostgreSQL)."""
    if environ.get("YISHI_ENV", "").strip().lower() == "production":
        return "YISHI_ENV=production"
    for name, url in sorted(environ.items()):  # DATABASE_URL and every service's own, YISHI_<SERVICE>_DATABASE_URL
        if not (name == "DATABASE_URL" or (name.startswith("YISHI_") and name.endswith("_DATABASE_URL"))):
            continue
        if url.startswith("postgres") and (urlsplit(url).hostname or "") not in LOCAL_HOSTS:
            return f"{name} points at PostgreSQL on {urlsplit(url).hostname}, not this machine"
    return None


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether this process runs on the test clock; raises TestClockRefused where that is not allowed."""
    if environ.get(ENABLE) != "1":
        return False
    reason = refusal(environ)
    if reason:
        raise TestClockRefused(reason)
    return True


def clock_file(environ: Mapping[str, str]) -> Path:
    """The offset file in the deployment's var dir (the same YISHI_VAR_DIR its processes share)."""
    return Path(environ.get("YISHI_VAR_DIR", "var")).resolve() / FILE


class TestClock:
    """Real time plus the offset in `path`; the file is re-read only when it changed (its stat differs)."""

    __test__ = False

    def __init__(self, path: Path, real: Clock = real_utcnow):
        self.path, self.real = path, real
        self._seen: tuple[int, int, int] | None = None
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        return self.real() + self.offset()

    def offset(self) -> timedelta:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return timedelta(0)
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._offset = timedelta(seconds=json.loads(self.path.read_text())["offset_seconds"])
            self._seen = seen
        return self._offset

    def set(self, moment: datetime) -> datetime:
        """Move the clock to `moment` (forward only: events already recorded must not lie in the future)."""
        now = self()
        if moment < now:
            raise ValueError(f"a test clock moves forward only: it is already {rfc3339(now)}")
        return self._write(moment - self.real())

    def advance(self, by: timedelta) -> datetime:
        if by <= timedelta(0):
            raise ValueError("a test clock moves forward only: give a positive duration")
        return self._write(self.offset() + by)

    def _write(self, offset: timedelta) -> datetime:
        staged = self.path.with_suffix(".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(json.dumps({"offset_seconds": offset.total_seconds()}))
        os.replace(staged, self.path)  # atomic: a reader sees the old offset or the new one
        return self()


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (P3DT2H, PT90M, P1W)."""
    match = _DURATION.fullmatch(text.strip().upper())
    if not match or not any(match.groupdict().values()):
        if re.match(r"P\d+[YM]", text.strip().upper()):
            raise ValueError(f"{text!r}: years and months have no fixed length; give days, e.g. P30D")
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as P3DT2H")
    return timedelta(**{k: float(v) for k, v in match.groupdict().items() if v})


def parse_moment(text: str) -> datetime:
    """An RFC 3339 date-time with its offset (2026-12-20T09:00:00+08:00, …Z)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time such as 2026-12-20T09:00:00+08:00") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (RFC 3339 needs one, e.g. +08:00 or Z)")
    return moment


@cache
def process_clock() -> Clock:
    """This process's clock, chosen once from its environment."""
    return TestClock(clock_file(os.environ)) if enabled(os.environ) else real_utcnow


def utcnow() -> datetime:
    """Now, in UTC, on the deployment's clock: every service's `clock` defaults to this."""
    return process_clock()()


def status() -> dict[str, Any]:
    """The clock in use, for GET /health."""
    clock = process_clock()
    if isinstance(clock, TestClock):
        return {"kind": "test", "now": rfc3339(clock()), "offset_seconds": clock.offset().total_seconds()}
    return {"kind": "real", "now": rfc3339(clock())}
