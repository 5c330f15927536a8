"""The portal's pages under 50 concurrent users: p95 server time per page (target ≤ 200 ms, issue 16).

Every service's web and worker process (bench/stack.py) and the portal in front of them, seeded with reports;
then `--users` closed-loop users (one keep-alive connection each, no think time) open the residents' and the
staff's pages in turn for `--duration` seconds. Server time is the portal's own `Server-Timing: app;dur=`
(from the request reaching the page handler to its response, upstream reads included); client time is
the whole round trip seen by the user thread, on the same cores.

    .venv/bin/python -m bench.portal_pages                     # 50 users, 60 s, after a 5 s warm-up
    .venv/bin/python -m bench.portal_pages --duration 10 --no-write   # a smoke run
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.stack import SERVICES, Stack
from shared.edge.signing import issue_token, key_dir
from tests.support.processes import Process, wait_until

RESULTS = Path(__file__).parent / "results" / "portal-pages.json"
TARGET_MS = 200.0
TIMING = re.compile(r"app;dur=([0-9.]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def seed(intake: str, count: int) -> list[str]:
    """`count` reports in two communities; the tracking codes once each has its case."""
    codes = []
    for i in range(count):
        body = {"channel": "online", "title": f"{i % 9 + 1}号楼楼道灯坏了({i})", "description": "晚上一片黑",
                "reporter": {"name": "张三"}, "location": {"community": ("幸福里", "和平里")[i % 2],
                                                         "building": str(i % 9 + 1), "unit": "1"}}
        codes.append(requests.post(f"{intake}/issues", json=body, timeout=10).json()["tracking_code"])
    wait_until(lambda: requests.get(f"{intake}/issues/{codes[-1]}", timeout=10).json()["case"], timeout=120,
               message="the seeded reports have their cases")
    return codes


def signed_in(portal: str, token: str) -> requests.Session:
    """A browser's session: the sign-in form's CSRF token, then the session cookie."""
    session = requests.Session()
    form = session.get(f"{portal}/staff/login", timeout=10).text
    answer = session.post(f"{portal}/staff/login", data={"token": token, "csrf": CSRF.search(form).group(1)},
                          timeout=10, allow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    return session


def pages(case_id: str) -> list[str]:
    return ["/", "/?community=幸福里", "/report", "/track", "/staff/cases", f"/staff/cases/{case_id}",
            "/staff/reports/stats", "/staff/reports/demand", "/staff/meetings"]


class Users:
    """Closed-loop users, each walking the pages in turn; per page: server and client times, failures."""

    def __init__(self, portal: str, token: str, paths: list[str], users: int):
        self.portal, self.paths = portal, paths
        self.sessions = [signed_in(portal, token) for _ in range(users)]
        self.lock = threading.Lock()
        self.samples: dict[str, list[tuple[float, float]]] = {p: [] for p in paths}
        self.failures: dict[str, int] = {p: 0 for p in paths}
        self.recording = False

    def _walk(self, n: int, until: float) -> None:
        session, i = self.sessions[n], n
        while time.monotonic() < until:
            path = self.paths[i % len(self.paths)]
            i += 1
            started = time.perf_counter()
            try:
                answer = session.get(self.portal + path, timeout=10)
                client = (time.perf_counter() - started) * 1000
                found = TIMING.search(answer.headers.get("Server-Timing", ""))
                ok = answer.status_code == 200 and found is not None
            except requests.RequestException:
                ok, client, found = False, 0.0, None
            if self.recording:
                with self.lock:
                    if ok:
                        self.samples[path].append((float(found.group(1)), client))
                    else:
                        self.failures[path] += 1

    def run(self, warmup: float, duration: float) -> None:
        until = time.monotonic() + warmup + duration
        threads = [threading.Thread(target=self._walk, args=(n, until), daemon=True) for n in range(len(self.sessions))]
        for t in threads:
            t.start()
        time.sleep(warmup)
        self.recording = True
        for t in threads:
            t.join()


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(users: Users, duration: float) -> list[dict[str, Any]]:
    rows = []
    for path, samples in users.samples.items():
        server, client = [s for s, _ in samples], [c for _, c in samples]
        rows.append({"page": path.split("/staff/cases/")[0] + ("/staff/cases/{id}" if "/staff/cases/" in path else ""),
                     "requests": len(samples), "failures": users.failures[path],
                     "per_second": round(len(samples) / duration, 1),
                     "server_p50_ms": percentile(server, 0.5), "server_p95_ms": percentile(server, 0.95),
                     "server_p99_ms": percentile(server, 0.99),
                     "server_mean_ms": round(statistics.fmean(server), 1) if server else None,
                     "client_p95_ms": round(percentile(client, 0.95), 1) if client else None})
    return rows


def markdown(rows: list[dict[str, Any]], users: int) -> str:
    lines = [f"{users} users; target: server p95 ≤ {TARGET_MS:.0f} ms per page", "",
             "| page | requests | failures | /s | server p50 | server p95 | server p99 | client p95 | ≤ target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = r["server_p95_ms"] is not None and r["server_p95_ms"] <= TARGET_MS and not r["failures"]
        lines.append(f"| `{r['page']}` | {r['requests']} | {r['failures']} | {r['per_second']} | {r['server_p50_ms']} | "
                     f"{r['server_p95_ms']} | {r['server_p99_ms']} | {r['client_p95_ms']} | {'yes' if met else 'NO'} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.portal_pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    parser.add_argument("--reports", type=int, default=200, help="reports seeded first")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.relative_to(Path.cwd())}")
    args = parser.parse_args()
    stack, portal = Stack(args.store), None
    try:
        stack.start()
        identity = key_dir(stack.tmp / "var")  # the services' own key (YISHI_IDENTITY_DIR if the shell sets one)
        env = {"YISHI_VAR_DIR": str(stack.tmp / "var"), "YISHI_IDENTITY_DIR": str(identity),
               **{f"YISHI_{s.upper()}_URL": stack.url(s) for s in SERVICES}}
        portal = Process("portal", "web", env, stack.tmp).start()
        codes = seed(stack.url("intake"), args.reports)
        case_id = requests.get(f"{stack.url('intake')}/issues/{codes[0]}", timeout=10).json()["case"]["case_id"]
        token = issue_token("community_worker", "压测员", directory=identity)
        users = Users(portal.url, token, pages(case_id), args.users)
        users.run(args.warmup, args.duration)
        rows = summary(users, args.duration)
        print(markdown(rows, args.users))
        if not args.no_write:
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps({"users": args.users, "duration": args.duration, "store": args.store,
                                           "reports": args.reports, "pages": rows}, ensure_ascii=False, indent=2))
        return 0 if all(r["server_p95_ms"] is not None and r["server_p95_ms"] <= TARGET_MS and not r["failures"]
                        for r in rows) else 1
    finally:
        if portal:
            portal.stop()
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
