"""What the benchmark reads off the running system, from the outside only: each service's /metrics, the
queues' depths over AMQP, CPU time from /proc, and PostgreSQL's statistics for the run's database."""
from __future__ import annotations

import json
import os
import subprocess
import time
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from collections import defaultdict
from typing import Any

from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from bench.stack import SERVICES, Stack
from tests.support.infra import ADMIN_DSN
from shared.edge.signing import issue_token, key_dir

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- /metrics ----------------------------------------------------------------------------------------------
def parse_metrics(text: str) -> dict[str, float]:
    """The counters the benchmark needs, flattened: published.<svc>, consumed.<svc>.<outcome>,
    opened (casework applied IssueReported), relay_position/relay_lag.<svc>."""
    out: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            lab, v = s.labels, s.value
            if s.name == "yishi_events_published_total":
                out[f"published.{lab['service']}"] += v
            elif s.name == "yishi_events_consumed_total":
                out[f"consumed.{lab['service']}.{lab['outcome']}"] += v
                if (lab["service"], lab["upstream"], lab.get("type"), lab["outcome"]) == (
                        "casework", "intake", "IssueReported", "applied"):
                    out["opened"] += v
            elif s.name == "yishi_relay_position":
                key = f"relay_position.{lab['service']}"
                out[key] = max(out[key], v)
            elif s.name == "yishi_relay_lag_events":
                out[f"relay_lag.{lab['service']}"] = v
            elif s.name == "yishi_dead_letters_total":
                out["dead_letters"] += v
            elif s.name == "yishi_consumer_gaps_total":
                out["consumer_gaps"] += v
    for service in SERVICES:  # relay lag = log head - relay position, so the head is their sum
        if f"relay_lag.{service}" in out:
            out[f"head.{service}"] = out[f"relay_position.{service}"] + out[f"relay_lag.{service}"]
    return dict(out)


def signed_in(stack: Stack, role: str = "community_worker") -> dict[str, str]:
    """Headers of a staff member of the bench's system: whole cases (an anonymous ledger is public columns only)."""
    return {"Authorization": f"Bearer {issue_token(role, 'bench', directory=key_dir(stack.tmp / 'var'))}"}


def scrape(stack: Stack) -> dict[str, float]:
    values: dict[str, float] = {}
    token = issue_token("operator", "bench", directory=key_dir(stack.tmp / "var"))  # /metrics is the operator's
    for service in SERVICES:
        request = urllib.request.Request(stack.url(service) + "/metrics", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            values.update(parse_metrics(r.read().decode()))
    return values


# --- queues ------------------------------------------------------------------------------------------------
def queue_names(amqp_uri: str) -> list[str]:
    """The consumer queues (and their dead-letter queues) of shared/messaging/topology.py; the broker's list when that
    module no longer offers `all_queues`."""
    try:
        from shared.messaging import topology

        return sorted(q.name for q in topology.all_queues())
    except (ImportError, AttributeError):
        vhost = urllib.parse.unquote(amqp_uri.rsplit("/", 1)[1])
        out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name"], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        return sorted(line.strip() for line in out.splitlines()[1:] if line.strip())


class Queues:
    """Messages ready in each queue, by passive queue_declare (the broker's own count, not a metric)."""

    def __init__(self, amqp_uri: str):
        self.conn = Connection(amqp_uri)
        self.names = queue_names(amqp_uri)

    def depths(self) -> dict[str, int]:
        channel = self.conn.default_channel
        return {name: channel.queue_declare(name, passive=True)[1] for name in self.names}

    def close(self) -> None:
        self.conn.release()


# --- CPU ---------------------------------------------------------------------------------------------------
def _ticks(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy() -> float:
    """CPU seconds (all cores) the machine spent neither idle nor in iowait since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def cpu_by_pid(stack: Stack) -> dict[str, dict[int, float]]:
    """CPU seconds per pid, grouped: each Yishi process, PostgreSQL (backends of our database; the server's
    own processes: WAL writer, checkpointer...), RabbitMQ (beam.smp, the whole broker) and the bench."""
    groups: dict[str, dict[int, float]] = {}
    for name, pid in stack.pids().items():  # a service's web processes together: intake-web, intake-web-2 ...
        groups.setdefault(name.rsplit("-", 1)[0] if name.rsplit("-", 1)[-1].isdigit() else name, {})[pid] = _ticks(pid)
    groups |= {"postgres": {}, "postgres-server": {}, "rabbitmq": {}, "bench": {os.getpid(): sum(os.times()[:2])}}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            if comm == "beam.smp":
                groups["rabbitmq"][pid] = _ticks(pid)
            elif comm == "postgres":
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ")
                if stack.dbname and f" {stack.dbname} ".encode() in cmdline:
                    groups["postgres"][pid] = _ticks(pid)
                elif b"(" not in cmdline and b"[local]" not in cmdline:  # not a client's backend
                    groups["postgres-server"][pid] = _ticks(pid)
        except OSError:
            continue
    return groups


def cpu_delta(a: dict[str, dict[int, float]], b: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per group between two snapshots; a pid that appeared in between counts whole."""
    return {group: sum(t - a.get(group, {}).get(pid, 0.0) for pid, t in pids.items()) for group, pids in b.items()}


# --- PostgreSQL --------------------------------------------------------------------------------------------
class PgStats:
    """Transactions (and statements, when pg_stat_statements is loaded) of the run's database, read from the
    admin database so that reading them adds nothing to what is measured."""

    def __init__(self, dbname: str):
        import psycopg

        self.dbname = dbname
        self.conn = psycopg.connect(ADMIN_DSN, autocommit=True)
        try:
            self.conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
            self.statements = True
        except psycopg.Error:
            self.statements = False

    def read(self) -> dict[str, float]:
        self.conn.execute("SELECT pg_stat_clear_snapshot()")
        xact, ins, upd, ret = self.conn.execute(
            "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_returned FROM pg_stat_database "
            "WHERE datname = %s", (self.dbname,)).fetchone()
        out = {"pg.transactions": float(xact), "pg.rows_inserted": float(ins), "pg.rows_updated": float(upd),
               "pg.rows_returned": float(ret)}
        if self.statements:
            calls = self.conn.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d "
                                      "ON d.oid = s.dbid WHERE d.datname = %s", (self.dbname,)).fetchone()[0]
            out["pg.statements"] = float(calls)
        return out

    def backends(self) -> int:
        return self.conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                 (self.dbname,)).fetchone()[0]

    def close(self) -> None:
        self.conn.close()


# --- one look at everything ------------------------------------------------------------------------------
class Observer:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.queues = Queues(stack.amqp_uri)
        self.pg = PgStats(stack.dbname) if stack.dbname else None

    def snapshot(self, with_cpu: bool = True) -> dict[str, Any]:
        snap: dict[str, Any] = {"t": time.monotonic(), "m": scrape(self.stack), "queues": self.queues.depths()}
        if self.pg:
            snap["m"] |= self.pg.read()
        if with_cpu:
            snap["cpu"], snap["machine"] = cpu_by_pid(self.stack), machine_busy()
        return snap

    def close(self) -> None:
        self.queues.close()
        if self.pg:
            self.pg.close()


def behind(prev: dict[str, Any], cur: dict[str, Any]) -> list[str]:
    """Why the pipeline is not drained at `cur` (empty: drained). Drained = nothing waits in any queue, every
    relay has published its whole log (read models are written with it), and between two looks nothing
    moved (no event written, none consumed: a message held unacked in a consumer would show as movement)."""
    m, why = cur["m"], []
    why += [f"{q}: {n} waiting" for q, n in cur["queues"].items() if n and not q.endswith(".dead")]
    why += [f"{k[10:]} relay lag {v:g}" for k, v in m.items() if k.startswith("relay_lag.") and v > 0]
    moving = [k for k in m if k.startswith(("head.", "consumed.")) and m[k] != prev["m"].get(k)]
    why += [f"{k} moving" for k in moving]
    return why


# --- end to end: report -> case in the ledger (-> notice on the board) ------------------------------------
@dataclass(eq=False)
class Sample:
    step: str
    issue_id: str
    sent: float  # monotonic
    sent_wall: float
    merged: bool
    case_id: str | None = None
    tier: str | None = None
    in_ledger: float | None = None
    on_board: float | None = None

    @property
    def done(self) -> float | None:
        """When the report had its whole effect: its case in the ledger and, for an urgent case opened on its
        own (not merged into an earlier one), its notice on the public board."""
        if self.in_ledger is None or (self.tier == "urgent" and not self.merged and self.on_board is None):
            return None
        return max(self.in_ledger, self.on_board or 0.0)


class Watcher:
    """Watches every `every`-th accepted report: polls casework's ledger (`GET /cases`) and notifications'
    board (`GET /notices`), both newest first, every `poll` s, paging back only as far as the oldest report
    still awaited. Resolution: the poll interval plus one request."""

    PAGE = 25  # small pages: the watcher's requests are work the measured web processes do

    def __init__(self, stack: Stack, every: int, poll: float = 0.05):
        self.cases_url, self.notices_url = stack.url("casework") + "/cases", stack.url("notifications") + "/notices"
        self.headers = signed_in(stack)
        self.every, self.poll = every, poll
        self.lock = threading.Lock()
        self.count = 0
        self.samples: list[Sample] = []
        self.for_ledger: dict[str, Sample] = {}  # by issue id
        self.for_board: dict[str, Sample] = {}  # by case id
        self.errors = 0

    def add(self, post) -> None:
        with self.lock:
            self.count += 1
            if self.count % self.every:
                return
            sample = Sample(post.step, post.issue_id, post.sent, post.sent_wall, post.merged)
            self.samples.append(sample)
            self.for_ledger[sample.issue_id] = sample

    def pending(self) -> int:
        with self.lock:
            return len(self.for_ledger) + len(self.for_board)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._look(self.cases_url, self.for_ledger, "cases", "issue_id", "opened_at", self._in_ledger)
                self._look(self.notices_url, self.for_board, "notices", "about", "published_at", self._on_board)
            except OSError:
                self.errors += 1
            stop.wait(self.poll)

    def _in_ledger(self, sample: Sample, row: dict[str, Any], at: float) -> None:
        sample.in_ledger, sample.case_id, sample.tier = at, row["case_id"], row["tier"]
        if row["tier"] == "urgent" and not sample.merged:
            self.for_board[row["case_id"]] = sample

    def _on_board(self, sample: Sample, row: dict[str, Any], at: float) -> None:
        if row["kind"] != "urgent_opened":
            self.for_board[sample.case_id] = sample  # another notice about the case: keep waiting
        else:
            sample.on_board = at

    def _look(self, url: str, awaited: dict[str, Sample], field: str, key: str, stamp: str, found) -> None:
        with self.lock:
            if not awaited:
                return
            oldest = min(s.sent_wall for s in awaited.values()) - 2  # clocks of one machine; 2 s of slack
        offset = 0
        while True:
            request = urllib.request.Request(f"{url}?limit={self.PAGE}&offset={offset}", headers=self.headers)
            with urllib.request.urlopen(request, timeout=30) as r:
                rows = json.loads(r.read())[field]
            at = time.monotonic()
            with self.lock:
                for row in rows:
                    if (sample := awaited.pop(row[key], None)) is not None:
                        found(sample, row, at)
                if not awaited or len(rows) < self.PAGE:
                    return
            if datetime.fromisoformat(rows[-1][stamp]).timestamp() < oldest:
                return
            offset += self.PAGE

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
