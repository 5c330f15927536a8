"""The web process runs under eventlet: store calls must yield to other requests, never freeze the hub."""
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.factories import report
from tests.support.identity import http

GREEN_OVERLAP = textwrap.dedent("""
    import eventlet
    eventlet.monkey_patch()
    import sys, time, psycopg
    from shared.store.persistence import use_green_psycopg
    use_green_psycopg()

    def slow():
        with psycopg.connect(sys.argv[1]) as conn:
            conn.execute("SELECT pg_sleep(0.5)")

    started = time.monotonic()
    pool = eventlet.GreenPool()
    for _ in range(4):
        pool.spawn(slow)
    pool.waitall()
    print(time.monotonic() - started)
""")


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_slow_queries_from_green_threads_overlap(settings):
    out = subprocess.run([sys.executable, "-c", GREEN_OVERLAP, settings.database_url], capture_output=True,
                         text=True, timeout=60, check=True)
    assert float(out.stdout.strip().splitlines()[-1]) < 1.5  # 4 x 0.5 s would take 2 s serialised


def test_concurrent_reports_are_all_recorded_without_deadlock(system):
    web = system.start("intake", "web")

    def post(n):
        return requests.post(f"{web.url}/issues", json=report(n), headers={"Idempotency-Key": f"k-{n}"}, timeout=30)

    with ThreadPoolExecutor(max_workers=40) as pool:
        responses = list(pool.map(post, range(200)))
    assert [r.status_code for r in responses] == [201] * 200
    assert len({r.json()["issue_id"] for r in responses}) == 200
    metrics = http.get(f"{web.url}/metrics", timeout=5).text
    # nothing relayed yet (no worker): the whole log is lag, two events per report (the issue and its tracking
    # code's entry, saved together so the code is found at once), and one more for each report merged as a
    # neighbour's restatement (nine buildings: the issue index is written with the log, so it is seen at once)
    merged = sum(1 for r in responses if r.json()["merged_into"])
    assert merged > 0  # (one decided while its original was still being committed is not merged: a race)
    assert f'yishi_relay_lag_events{{service="intake"}} {400 + merged}.0' in metrics
