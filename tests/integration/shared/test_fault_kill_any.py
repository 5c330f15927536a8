"""`make run` under a steady load while processes die: a random kill -9 of any of the supervisor's children (any
service's web or worker), repeated. Every accepted report has exactly one case, no report is refused.

The supervisor (tests/support/faults.py `Supervised`) runs every built service against a private PostgreSQL
cluster and a vhost of this test's own, and replaces each killed process. Every other kill hits the report's own
path (intake's and casework's processes), the rest any process; a process is killed only once it has run longer
than the supervisor's crash window (a younger one's death would count as crash-looping and be restarted late),
and a web process only while its sibling is as old: killing both of a service's web processes within a
replacement's start-up (a few seconds here) closes its port, connections are refused meanwhile.

YISHI_FAULT_RANDOM_KILLS sets the number of kills (default 4; `make fault`: 30), YISHI_FAULT_SEED the seed
(printed on every run).
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from shared.config import Settings
from shared.runtime.spec import built_services
from shared.runtime.supervisor import CRASH_WINDOW
from tests.support.faults import (Supervised, assert_one_case_each, assert_queues_drained, process_age, unanswered,
                                  wait_steady)
from tests.support.load import ReportLoad
from tests.support.private_pg import PrivateCluster
from tests.support.processes import free_port, wait_until

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("YISHI_FAULT_RANDOM_KILLS", "4"))
REPORT_PATH = ("intake", "casework")


@pytest.fixture
def rng() -> random.Random:
    seed = int(os.environ.get("YISHI_FAULT_SEED") or random.randrange(1 << 32))
    print(f"YISHI_FAULT_SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def big_cluster():
    """Every service's processes at once: more connections than the other fault tests' clusters allow."""
    cluster = PrivateCluster(free_port(), max_connections=120).create()
    yield cluster
    cluster.destroy()


def kill_one(sup: Supervised, rng: random.Random, on_report_path: bool) -> tuple[str, str]:
    """SIGKILL a random child older than the crash window, a web process only while its siblings are too (so one
    of them serves its port); returns its (service, role)."""
    def candidates() -> list[tuple[int, str, str]]:
        children = sup.children()
        grown = {c for c in children if process_age(c[0]) > CRASH_WINDOW + 1}
        return sorted((c for c in grown if (not on_report_path or c[1] in REPORT_PATH)
                and (c[2] != "web" or all(w in grown for w in children if w[1:] == c[1:]))), key=lambda c: c[1:])

    pid, service, role = rng.choice(wait_until(candidates, timeout=60, interval=0.2, message="a process to kill"))
    os.kill(pid, signal.SIGKILL)
    return service, role


def test_random_kills_of_any_process_under_load_lose_and_duplicate_no_report(
        big_cluster: PrivateCluster, amqp_uri: str, tmp_path: Path, rng: random.Random):
    settings = Settings(database_url=big_cluster.create_database(), amqp_uri=amqp_uri, var_dir=tmp_path / "var",
                        poll_interval=0.05, pool_size=2)
    sup = Supervised(settings, tmp_path).start()
    try:
        load = ReportLoad([sup.url("intake")], rate=10).start()
        began = time.monotonic()
        killed = []
        try:
            for n in range(KILLS):
                time.sleep(rng.uniform(0.5, 2.5))
                victim = kill_one(sup, rng, on_report_path=n % 2 == 0)
                killed.append((round(time.monotonic() - began, 1), *victim))
            last_kill = time.monotonic()
            time.sleep(3)
        finally:
            load.stop()
        accepted = set(load.accepted)
        print(f"killed {killed}; answers {dict(load.statuses())}, {load.retried} retried")
        steady_after = wait_steady(settings, accepted, since=last_kill, timeout=120)
        print(f"steady {steady_after:.1f}s after the last kill; {len(accepted)} accepted")

        assert not unanswered(load, since=began), (unanswered(load, since=began), killed)
        sup.stop()
        assert_queues_drained(settings, tuple(built_services()), list((settings.var_dir / "metrics").iterdir()))
        assert_one_case_each(settings, accepted)
    finally:
        sup.stop()
