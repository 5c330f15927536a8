"""A steady stream of reports against intake's web processes, every answer recorded, for fault tests."""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.support.factories import report


RETRY_PAUSE = 0.5  # seconds between retries after a connection error
ATTEMPTS = 3  # as a resident's app does: a connection error is tried again twice, with the same key


@dataclass
class Answer:
    at: float  # time.monotonic() when sent
    status: int | None  # None: refused or timed out (no HTTP answer)
    issue_id: str | None = None
    retry_after: str | None = None
    error: str = ""


@dataclass
class Response:
    """One HTTP answer to one attempt (an Answer may take several)."""

    sent: float
    answered: float
    status: int
    retry_after: str | None


@dataclass
class ReportLoad:
    """POST /issues at `rate` per second (round robin over `urls`) in a thread, until stopped."""

    urls: list[str]
    rate: float = 10.0
    answers: list[Answer] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)  # every attempt's answer, retries included
    retried: int = 0  # requests sent again after a connection error or a timeout
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "ReportLoad":
        self._thread = threading.Thread(target=self._run, name="report-load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        session = requests.Session()
        n = 0
        while not self._stop.is_set():
            started = time.monotonic()
            url = self.urls[n % len(self.urls)]
            self.answers.append(self._send(session, url, n, started))
            n += 1
            self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))

    def _send(self, session: requests.Session, url: str, n: int, started: float) -> Answer:
        # a distinct building per report: no two are near duplicates, so each must become a case of its own
        body = report(n, title=f"{n}号楼楼道灯坏了", location={"community": "幸福里", "building": f"B{n}-{uuid.uuid4().hex[:6]}"})
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        for attempt in range(ATTEMPTS):
            try:
                r = self._post(session, url, body, headers)
                break
            except (requests.ConnectionError, requests.Timeout) as exc:
                # a kept-alive connection to a web process that died, or no answer in 10 s: a client retries
                # with the same key (the report is recorded at most once), on a new connection, after a
                # moment: a killed process's listening socket outlives it while the kernel tears down its memory
                # (up to ~0.3 s seen on a busy machine), and connections the kernel hands it meanwhile are reset
                if attempt < ATTEMPTS - 1:
                    self.retried += 1
                    time.sleep(RETRY_PAUSE)
                    continue
                return Answer(started, None, error=type(exc).__name__)
            except requests.RequestException as exc:
                return Answer(started, None, error=type(exc).__name__)
        if r.status_code == 503 and r.headers.get("Retry-After"):
            # refused for now; but a commit whose answer a connection reset lost was recorded all the same: a
            # client tries again with the same key (once, after a moment, not Retry-After's whole wait)
            time.sleep(RETRY_PAUSE * 2)
            self.retried += 1
            try:
                r = self._post(session, url, body, headers)
            except requests.RequestException as exc:
                return Answer(started, None, error=type(exc).__name__)
        # 200: the retry found the first attempt recorded (the key names the issue): accepted all the same
        issue_id = r.json().get("issue_id") if r.status_code in (200, 201) else None
        return Answer(started, 201 if r.status_code == 200 and issue_id else r.status_code, issue_id,
                      r.headers.get("Retry-After"))

    def _post(self, session: requests.Session, url: str, body: dict, headers: dict) -> requests.Response:
        sent = time.monotonic()
        r = session.post(f"{url}/issues", json=body, headers=headers, timeout=10)
        self.responses.append(Response(sent, time.monotonic(), r.status_code, r.headers.get("Retry-After")))
        return r

    @property
    def accepted(self) -> list[str]:
        return [a.issue_id for a in self.answers if a.status == 201 and a.issue_id]

    def statuses(self) -> Counter:
        return Counter(a.status for a in self.answers)
