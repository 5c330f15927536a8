"""The whole system's PostgreSQL connections stay within a budget per process, and idle ones are released.

Seen in production: eight processes held 97 of the server's 100 connections and never let go, so `yishi
rebuild` was refused (`too many clients already`). Each process has two pools (its event store's and its read
models', YISHI_PG_POOL_SIZE each) and a worker one session more for its leadership lock; a connection idle for
YISHI_PG_MAX_IDLE seconds is closed. Counted in pg_stat_activity for this test's own database, by process
(each process's sessions carry its name, PGAPPNAME).
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from shared.config import Settings
from tests.support.faults import start_loaded, system_env, wait_steady
from tests.support.processes import System, wait_until

pytestmark = pytest.mark.slow
POOL_SIZE = 2
MAX_IDLE = 1.0
PROCESSES = ("intake-web", "intake-worker", "casework-worker")


def budget(process: str) -> int:
    return 2 * POOL_SIZE + (1 if process.endswith("worker") else 0)


def sessions(pg_url: str, detail: bool = False) -> Counter:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT application_name, state, left(query, 60) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return Counter(row if detail else row[0] for row in rows)


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_connections_stay_within_the_budget_and_idle_ones_are_released(settings: Settings, tmp_path: Path):
    # commits wake the relay; its safety-net polls (every 5 s here) take a connection a moment
    system = System(system_env(settings, tmp_path / "metrics", YISHI_POLL_INTERVAL="5",
                               YISHI_PG_POOL_SIZE=str(POOL_SIZE), YISHI_PG_MAX_IDLE=str(MAX_IDLE)), tmp_path)
    try:
        load = start_loaded(system, settings, rate=20)
        most: Counter = Counter()
        try:
            for _ in range(30):  # under load: the most each process held at once
                most |= sessions(settings.database_url or "")
                time.sleep(0.1)
        finally:
            load.stop()
        print(f"most held under load: {dict(most)}")
        assert set(most) >= set(PROCESSES), most
        assert all(most[p] <= budget(p) for p in PROCESSES), {p: (most[p], budget(p)) for p in PROCESSES}

        wait_steady(settings, set(load.accepted), since=time.monotonic())
        # idle: only each worker's leadership session is left
        try:
            left = wait_until(lambda: (s := sessions(settings.database_url or "")) and all(
                s[p] <= (1 if p.endswith("worker") else 0) for p in PROCESSES) and s, timeout=30, interval=0.5,
                message="idle connections released")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {sessions(settings.database_url or '', detail=True)}") from None
        print(f"held when idle: {dict(left)}")
    finally:
        system.stop()
