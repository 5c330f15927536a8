"""Helpers for fault tests: seed a log fast, run the system under a steady load, read stores and queues and
metrics from the outside, and the checks every fault ends with.

Polling reads go through plain autocommit connections (no `BEGIN IMMEDIATE`, no eventsourcing
recorder), so the test takes no write lock the processes under test need.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from kombu import Connection
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from shared.messaging import topology
from shared.config import Settings
from shared.store.persistence import pg_params, table_names
from tests.support.load import ReportLoad
from tests.support.processes import ROOT, System, free_port, wait_until

STEADY_WITHIN = 30.0  # the issue's target: steady at most 30 s after a fault ends
# the two directions the loaded system's reports travel: intake -> casework, and casework's events back
QUEUES = (topology.consumer_queue("casework", "intake").name, topology.consumer_queue("intake", "casework").name)


def seed_issues(settings: Settings, n: int, batch: int = 500) -> dict[int, str]:
    """Report `n` issues straight into intake's store, `batch` aggregates per transaction.

    Returns {notification id of its `Issue.Reported`: issue id}: what intake's relay must publish.
    """
    from services.intake.application import IntakeApplication
    from tests.support.factories import issues

    app = IntakeApplication(settings)
    try:
        for start in range(0, n, batch):
            app.save(*issues(min(batch, n - start), start))
        ids: dict[int, str] = {}
        while page := app.notifications_after(max(ids, default=0), 1000):
            assert all(x.topic.endswith("Issue.Reported") for x in page)
            ids |= {x.id: str(x.originator_id) for x in page}
        assert len(ids) == n
        return ids
    finally:
        app.close()


class StoreReader:
    """Read-only SQL over one service's store (SQLite file or PostgreSQL schema)."""

    def __init__(self, service: str, settings: Settings):
        self.service, self.settings = service, settings
        self.events, self.tracking = table_names(service, settings)
        self._conn: Any = None

    def _connect(self) -> Any:
        if self.settings.uses_postgres:
            return psycopg.connect(**pg_params(self.settings.database_url or ""), autocommit=True,
                                   options=f"-c search_path={self.service}")
        path = self.settings.var_dir / f"{self.service}.sqlite3"
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._conn is None:
            self._conn = self._connect()
        if self.settings.uses_postgres:
            sql = sql.replace("?", "%s")
        try:
            return list(self._conn.execute(sql, params).fetchall())
        except Exception:
            self.close()
            raise

    def scalar(self, sql: str, params: tuple = (), default: Any = 0) -> Any:
        """The first column of the first row; `default` while the table does not exist yet."""
        try:
            rows = self.query(sql, params)
        except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
            return default
        return rows[0][0] if rows and rows[0][0] is not None else default

    def tracked(self, upstream: str) -> int:
        return self.scalar(f"SELECT count(*) FROM {self.tracking} WHERE application_name = ?", (upstream,))

    def tracked_ids(self, upstream: str) -> list[int]:
        rows = self.query(f"SELECT notification_id FROM {self.tracking} WHERE application_name = ? "
                          "ORDER BY notification_id", (upstream,))
        return [r[0] for r in rows]

    def relay_position(self) -> int:
        return self.scalar("SELECT position FROM relay_position WHERE stream = ?", (f"{self.service}.events",))

    def log_head(self) -> int:
        column = "notification_id" if self.settings.uses_postgres else "rowid"
        return self.scalar(f"SELECT max({column}) FROM {self.events}")

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


@contextmanager
def reading(service: str, settings: Settings) -> Iterator[StoreReader]:
    reader = StoreReader(service, settings)
    try:
        yield reader
    finally:
        reader.close()


def domain_events(app_class: type, settings: Settings) -> list[tuple[int, Any]]:
    """(notification id, decoded event) of a service's whole log, read with its own Application."""
    app = app_class(settings)
    try:
        out: list[tuple[int, Any]] = []
        while page := app.notifications_after(out[-1][0] if out else 0, 1000):
            out += [(n.id, app.domain_event(n)) for n in page]
        return out
    finally:
        app.close()


def queue_ready(amqp_uri: str, queue_name: str) -> int:
    """Messages ready in a queue (unacked ones are not counted: stop the consumer first)."""
    with Connection(amqp_uri) as conn:
        _, count, _ = conn.default_channel.queue_declare(queue_name, passive=True)
        return count


def consumer_queues_ready(amqp_uri: str, consumers: tuple[str, ...]) -> dict[str, int]:
    """Ready messages in the consumer queues (and their dead-letter queues) of these services."""
    with Connection(amqp_uri) as conn:
        topology.declare(conn)
        return {q.name: conn.default_channel.queue_declare(q.name, passive=True)[1] for q in topology.all_queues()
                if q.name.split("--")[0] in consumers}


def metric_totals(metrics_dir: Path, name: str, **labels: str) -> Counter:
    """Sum of a multiprocess counter over every process that ever wrote `metrics_dir` (dead ones too),
    keyed by the labels not fixed in `labels`."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    totals: Counter = Counter()
    for family in registry.collect():
        for sample in family.samples:
            if sample.name != name or any(sample.labels.get(k) != v for k, v in labels.items()):
                continue
            rest = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in labels))
            totals[rest] += sample.value
    return totals


def metric_sum(metrics_dir: Path, name: str, **labels: str) -> float:
    return sum(metric_totals(metrics_dir, name, **labels).values())


# --- the system under a steady load of reports, and what every fault test checks afterwards

def system_env(settings: Settings, metrics_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of the processes under test, from `settings` as they reach the store and broker (through a
    fault proxy, say); `extra` adds or overrides variables."""
    metrics_dir.mkdir(parents=True, exist_ok=True)
    return {"AMQP_URI": settings.amqp_uri, "YISHI_VAR_DIR": str(settings.var_dir),
            "YISHI_POLL_INTERVAL": str(settings.poll_interval), "DATABASE_URL": settings.database_url or "",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "YISHI_PG_POOL_SIZE": str(settings.pool_size)} | extra


def start_loaded(system: System, settings: Settings, rate: float) -> ReportLoad:
    """intake's web and worker and casework's worker, and reports at `rate` per second; returns once a report's
    case came back to intake (every process up and busy). `settings`: how the test reads the stores."""
    web = system.start("intake", "web")
    system.start("intake", "worker")
    system.start("casework", "worker")
    load = ReportLoad([web.url], rate=rate).start()
    try:
        wait_until(lambda: load.accepted and issues_progressed(settings) >= {load.accepted[0]}, timeout=60,
                   interval=0.2, message="a report's case back in intake before the fault")
    except BaseException:
        load.stop()
        raise
    return load


def cases_by_issue(settings: Settings) -> Counter:
    """{issue id: cases opened for it} from casework's log."""
    from services.casework.application import CaseworkApplication
    from services.casework.domain import Case

    return Counter(e.issue_id for _, e in domain_events(CaseworkApplication, settings) if isinstance(e, Case.Opened))


def issues_progressed(settings: Settings) -> set[str]:
    """Issues that heard back from casework: a row in intake's case_progress view of casework's events."""
    with reading("intake", settings) as intake:
        try:
            return {row[0] for row in intake.query("SELECT issue_id FROM case_progress")}
        except Exception:  # not created yet
            return set()


def wait_steady(settings: Settings, accepted: set[str], since: float, timeout: float = STEADY_WITHIN + 30) -> float:
    """Seconds from `since` (time.monotonic()) until every accepted report has its case, its case's events came
    back to intake and both queues are empty; fails, saying how many are missing, after `timeout`."""
    def steady() -> bool:
        return all(queue_ready(settings.amqp_uri, q) == 0 for q in QUEUES) and \
            set(cases_by_issue(settings)) >= accepted and issues_progressed(settings) >= accepted

    try:
        wait_until(steady, timeout=timeout, interval=0.5, message="every accepted report's case")
    except AssertionError:
        missing = accepted - set(cases_by_issue(settings))
        ready = {q: queue_ready(settings.amqp_uri, q) for q in QUEUES}
        raise AssertionError(f"{len(missing)} of {len(accepted)} accepted reports have no case, "
                             f"{len(accepted - issues_progressed(settings))} never heard back; ready: {ready}")
    return time.monotonic() - since


def unanswered(load: ReportLoad, since: float = 0.0) -> list[tuple[float, int | None, str]]:
    """(seconds after `since`, status, error) of every report neither accepted (201) nor refused for now (503
    with Retry-After): a 500, a refused connection, no answer in time."""
    return [(round(a.at - since, 1), a.status, a.error) for a in load.answers
            if a.status != 201 and not (a.status == 503 and a.retry_after)]


def assert_one_case_each(settings: Settings, accepted: set[str]) -> None:
    """Every accepted report has exactly one case, and no refused one has any; each case's two events (opened,
    assigned) came back to intake once."""
    per_issue = cases_by_issue(settings)
    assert set(per_issue) == accepted and set(per_issue.values()) <= {1}, \
        f"{len(accepted - set(per_issue))} accepted reports without a case, {len(set(per_issue) - accepted)} " \
        f"cases of no accepted report, {sum(n for n in per_issue.values() if n > 1)} in duplicate"
    with reading("intake", settings) as intake:
        timelines = Counter(len(json.loads(doc)["timeline"]) for _, doc in
                            intake.query("SELECT issue_id, doc FROM case_progress"))
    assert timelines == Counter({2: len(accepted)}), f"timeline lengths {dict(timelines)}, expected 2 each"


def assert_drained(system: System, settings: Settings, metrics_dir: Path) -> None:
    """Stop the workers (their unacked messages go back): both queues empty, nothing dead-lettered."""
    for service in ("intake", "casework"):
        system.procs[(service, "worker")].stop()
    assert_queues_drained(settings, ("intake", "casework"), [metrics_dir])


def assert_queues_drained(settings: Settings, consumers: tuple[str, ...], metrics_dirs: list[Path]) -> None:
    """With every consumer stopped: the report path's queues empty, no consumer's `.dead` queue holds anything,
    and no process counted a dead letter."""
    ready = consumer_queues_ready(settings.amqp_uri, consumers)
    assert not any(ready.get(q) for q in QUEUES) and not any(v for k, v in ready.items() if k.endswith(".dead")), \
        ready
    assert sum(metric_sum(d, "yishi_dead_letters_total") for d in metrics_dirs) == 0


# --- `make run`: the supervisor and every built service's processes

class Supervised:
    """`python -m shared.runtime.supervisor` (what `make run` starts) on ports of its own, against `settings`."""

    def __init__(self, settings: Settings, log_dir: Path, **env: str):
        from shared.runtime.spec import web_services

        self.ports = {s: free_port() for s in web_services()}
        # the deployment's own poll interval (14 processes polling every few ms would load the machine); the
        # supervisor gives each service a metrics directory of its own
        self.env = os.environ | {"AMQP_URI": settings.amqp_uri, "YISHI_VAR_DIR": str(settings.var_dir),
                                 "YISHI_PG_POOL_SIZE": str(settings.pool_size)} | {
            f"YISHI_{s.upper()}_PORT": str(p) for s, p in self.ports.items()} | env
        self.env.pop("YISHI_HTTP_PORT", None)
        self.env.pop("DATABASE_URL", None)
        if settings.database_url:
            self.env["DATABASE_URL"] = settings.database_url
        self.log = open(log_dir / "supervisor.log", "ab")
        self.proc: subprocess.Popen | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, services_live: tuple[str, ...] = ("intake",)) -> "Supervised":
        """Start, and return once every web process of each of `services_live` answers /health/live."""
        from shared.runtime.supervisor import web_processes

        self.proc = subprocess.Popen([sys.executable, "-m", "shared.runtime.supervisor"], cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for service in services_live:
            wait_until(lambda: len(self.children(service, "web")) == web_processes(), timeout=30,
                       message=f"{web_processes()} {service} web processes")
            wait_until(lambda: _live(self.url(service)), timeout=60, message=f"{service} answering")
        time.sleep(2)  # every web process listening, not just the first
        return self

    def children(self, service: str | None = None, role: str | None = None) -> list[tuple[int, str, str]]:
        """(pid, service, role) of the supervisor's children, of one service or role if given."""
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        found = []
        for pid in map(int, out):
            argv = _command(pid)
            if len(argv) >= 4 and argv[1] == "-m" and argv[2].startswith("shared.runtime."):
                found.append((pid, argv[3], argv[2].rsplit(".", 1)[1]))
        return [c for c in found if service in (None, c[1]) and role in (None, c[2])]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pids = [pid for pid, _, _ in self.children()]
            self.proc.kill()
            for pid in pids:
                os.kill(pid, signal.SIGKILL)


def process_age(pid: int) -> float:
    """Seconds since the process started (0 when it is gone)."""
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, IndexError, ValueError):
        return 0.0
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def _command(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except FileNotFoundError:  # exited meanwhile
        return []


def _live(url: str) -> bool:
    import requests

    try:
        return requests.get(url + "/health/live", timeout=1).status_code == 200
    except requests.RequestException:
        return False
