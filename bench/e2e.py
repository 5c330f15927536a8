"""End-to-end load benchmark: resident reports per second, from intake's `POST /issues` to the case visible in casework.

    python -m bench.e2e [--store sqlite|postgres|both] [--rate R | --rates 20,50,100] [--duration S]
                        [--concurrency C] [--sample-every N] [--search N] [--keep-going]

For each store it creates a throw-away RabbitMQ vhost (and PostgreSQL database), starts the real processes
(intake web+worker, casework web+worker, exactly as `make run` does), and then, per step:

* offers reports at a fixed arrival rate (open loop: arrivals are scheduled on the clock, whatever the
  responses do) through a bounded pool of client threads, one `requests.Session` each;
* watches a sample of the accepted reports (every Nth) until their case is visible at casework's
  `GET /cases/{case_id}` (the case id is deterministic: `case_id_for(issue_id)`), giving the end-to-end
  latency "report -> case visible";
* scrapes both services' `/metrics` twice a second (events published, consumed, projected; relay lag)
  and reads every process's CPU time from /proc, so the table can say which stage limits throughput.

A step is *sustainable* when intake accepts what is offered (95 %), cases become visible as fast as reports
are accepted (95 %), every stage, the return path to intake included, keeps up (90 %), the backlog
(accepted - visible) does not grow over the steady window, everything drains after it, and nothing failed. Stepping stops at the first unsustainable rate (unless --keep-going); --search N then
bisects N more times between the last sustainable and the first unsustainable rate.

Everything (processes, database, vhost, temporary files) is removed at the end, also on Ctrl-C.
Results: a Markdown table on stdout and JSON in bench/results/e2e-<store>.json.
"""
from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import platform
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from services.casework.domain import case_id_for
from tests.support.infra import ADMIN_DSN, create_database, create_vhost, delete_vhost, drop_database
from tests.support.processes import ROOT, Process

RESULTS = ROOT / "bench" / "results"
DEFAULT_RATES = (50, 100, 200, 400)
CLK_TCK = os.sysconf("SC_CLK_TCK")
UNSENT = "not sent: every client thread was busy for 5 s"


# --- what residents report -------------------------------------------------------------------------------
COMMUNITIES = ("幸福里", "阳光花园", "和平新村", "春晓苑", "梧桐里", "紫荆小区", "滨江一号", "东湖社区", "南苑", "锦绣家园")
PROBLEMS = (
    ("{b}号楼楼道灯坏了", "晚上一片黑,联系{phone}"),
    ("{b}号楼门口垃圾堆放", "垃圾好几天没清运了,有异味"),
    ("消防通道被堵塞", "{b}号楼旁边的消防通道停满了电动车"),
    ("{b}号楼电梯经常停运", "电梯这个月困人两次,物业说在维修"),
    ("楼上噪音扰民", "{b}号楼半夜很吵,和邻居沟通无果"),
    ("路灯不亮", "{b}号楼前的路灯坏了一个星期"),
    ("小区里乱停车", "车位被占,{b}号楼门口占道停车"),
    ("想报名老年助餐", "家里老人行动不便,希望有助餐服务"),
)
CHANNELS = ("hotline", "online", "visit", "survey")


def report_body(n: int) -> dict[str, Any]:
    title, description = PROBLEMS[n % len(PROBLEMS)]
    building = str(1 + n % 30)
    phone = f"138{n % 100_000_000:08d}"
    return {
        "channel": CHANNELS[n % len(CHANNELS)],
        "title": title.format(b=building) + f" #{n}",
        "description": description.format(b=building, phone=phone),
        "location": {"community": COMMUNITIES[n % len(COMMUNITIES)], "building": building,
                     "unit": str(1 + n % 4), "room": f"{1 + n % 18}0{1 + n % 4}"},
        "reporter": {"name": "居民" + str(n % 1000), "phone": phone},
    }


def _poke(port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        pass


# --- the system under test ------------------------------------------------------------------------------
class Stack:
    """A vhost, a store and the four processes; `close()` removes all of it, whatever got created."""

    def __init__(self, store: str, poll_interval: float, keep_tmp: bool):
        self.store = store
        self.poll_interval = poll_interval
        self.keep_tmp = keep_tmp
        self.tmp = Path(tempfile.mkdtemp(prefix=f"yishi-bench-{store}-"))
        self.amqp_uri: str | None = None
        self.database_url: str | None = None
        self.procs: dict[str, Process] = {}

    def start(self) -> None:
        self.amqp_uri = create_vhost()
        if self.store == "postgres":
            self.database_url = create_database()
        for service in ("casework", "intake"):
            (self.tmp / "metrics" / service).mkdir(parents=True)
        # workers first: they declare the topology and take leadership while the web processes start
        for service, role in (("casework", "worker"), ("intake", "worker"), ("casework", "web"), ("intake", "web")):
            proc = Process(service, role, self.env(service), self.tmp)
            self.procs[f"{service}-{role}"] = proc
            proc.start()

    def env(self, service: str) -> dict[str, str]:
        assert self.amqp_uri
        return {"AMQP_URI": self.amqp_uri, "DATABASE_URL": self.database_url or "",
                f"YISHI_{service.upper()}_PORT": "",  # else it would win over Process's YISHI_HTTP_PORT
                "YISHI_VAR_DIR": str(self.tmp / "var"), "YISHI_POLL_INTERVAL": str(self.poll_interval),
                "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / "metrics" / service)}

    def url(self, service: str) -> str:
        return self.procs[f"{service}-web"].url

    def pids(self) -> dict[str, int]:
        return {name: p.proc.pid for name, p in self.procs.items() if p.proc is not None}

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.proc is not None and p.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.proc.returncode}: {p.log_path.read_text()[-2000:]}")

    def log_tail(self, lines: int = 5) -> dict[str, list[str]]:
        out = {}
        for name, p in self.procs.items():
            try:
                out[name] = p.log_path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                pass
        return out

    def log_counts(self) -> dict[str, dict[str, int]]:
        """Lines per level in each process's log: warnings and errors under load are worth a look."""
        out = {}
        for name, p in self.procs.items():
            counts: dict[str, int] = defaultdict(int)
            try:
                for line in p.log_path.read_text(errors="replace").splitlines():
                    for level in (" INFO ", " WARNING ", " ERROR ", "Traceback"):
                        if level in line:
                            counts[level.strip()] += 1
            except OSError:
                pass
            out[name] = dict(counts)
        return out

    def close(self) -> None:
        procs = [p for p in self.procs.values() if p.proc is not None and p.proc.poll() is None]
        for p in procs:
            p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in procs:
            try:
                while p.port and time.monotonic() < deadline - 1 and p.proc.poll() is None:
                    # An idle nameko web process acts on SIGTERM only when its eventlet hub next wakes up,
                    # up to a minute later (shared/web.py's handler only spawns runner.stop): wake it.
                    _poke(p.port)
                    try:
                        p.proc.wait(timeout=0.5)
                    except subprocess.TimeoutExpired:
                        pass
                p.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"bench: {p.service}-{p.role} still running 15 s after SIGTERM; killing it", file=sys.stderr)
                p.kill()
        if self.database_url:
            try:
                drop_database(self.database_url)
            except Exception as exc:
                print(f"bench: could not drop {self.database_url}: {exc}", file=sys.stderr)
        if self.amqp_uri:
            delete_vhost(self.amqp_uri)
        if self.keep_tmp:
            print(f"bench: kept {self.tmp} (logs, SQLite files, metrics)", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --- load: open loop, bounded client pool ----------------------------------------------------------------
@dataclass(eq=False)
class Post:
    step: int
    seq: int
    scheduled: float
    sent: float = 0.0
    done: float = 0.0
    status: int = 0
    issue_id: str | None = None
    error: str | None = None
    sampled: bool = False
    visible: float | None = None


class LoadGenerator:
    def __init__(self, url: str, concurrency: int, watcher: "Watcher", sample_every: int, max_lateness: float = 5.0):
        self.url = url + "/issues"
        self.watcher = watcher
        self.sample_every = sample_every
        self.max_lateness = max_lateness
        self.jobs: queue.SimpleQueue[Post | None] = queue.SimpleQueue()
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        self.seq = 0
        self.outstanding = 0
        self.idle = threading.Condition(self.lock)
        self.threads = [threading.Thread(target=self._work, name=f"client-{i}", daemon=True)
                        for i in range(concurrency)]
        for t in self.threads:
            t.start()

    def _work(self) -> None:
        session = requests.Session()
        while (post := self.jobs.get()) is not None:
            if time.monotonic() - post.scheduled > self.max_lateness:
                post.error = UNSENT
            else:
                post.sent = time.monotonic()
                try:
                    r = session.post(self.url, json=report_body(post.seq), timeout=30)
                    post.done, post.status = time.monotonic(), r.status_code
                    if r.status_code == 201:
                        post.issue_id = r.json()["issue_id"]
                    else:
                        post.error = f"HTTP {r.status_code}: {r.text[:200]}"
                except requests.RequestException as exc:
                    post.done, post.error = time.monotonic(), f"{type(exc).__name__}: {exc}"[:200]
            if post.issue_id and post.seq % self.sample_every == 0:
                post.sampled = True
                self.watcher.add(post)
            with self.lock:
                self.posts.append(post)
                self.outstanding -= 1
                if self.outstanding == 0:
                    self.idle.notify_all()

    def submit(self, step: int, scheduled: float) -> None:
        with self.lock:
            self.outstanding += 1
            seq, self.seq = self.seq, self.seq + 1
        self.jobs.put(Post(step, seq, scheduled))

    def offer(self, step: int, rate: float, duration: float, stop: threading.Event) -> tuple[float, float]:
        """Schedule rate*duration arrivals evenly; returns the (start, end) of the offered interval."""
        n = max(1, round(rate * duration))
        start = time.monotonic() + 0.02
        for i in range(n):
            at = start + i / rate
            delay = at - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            self.submit(step, at)
        return start, start + n / rate

    def wait_idle(self, timeout: float) -> bool:
        with self.lock:
            return self.idle.wait_for(lambda: self.outstanding == 0, timeout)

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)


class Watcher:
    """Polls the oldest few sampled reports until their case is visible; cases appear (nearly) in order."""

    def __init__(self, url: str, poll: float = 0.02, lookahead: int = 3):
        self.url = url
        self.poll = poll
        self.lookahead = lookahead
        self.pending: list[Post] = []
        self.lock = threading.Lock()
        self.gets = 0
        self.errors = 0

    def add(self, post: Post) -> None:
        with self.lock:
            bisect.insort(self.pending, post, key=lambda p: p.sent)

    def pending_count(self) -> int:
        with self.lock:
            return len(self.pending)

    def run(self, stop: threading.Event) -> None:
        session = requests.Session()
        while not stop.is_set():
            with self.lock:
                batch = self.pending[:self.lookahead]
            found = False
            for post in batch:
                try:
                    r = session.get(f"{self.url}/cases/{case_id_for(post.issue_id)}", timeout=10)
                except requests.RequestException:
                    self.errors += 1
                    continue
                self.gets += 1
                if r.status_code == 200:
                    post.visible = time.monotonic()
                    found = True
                    with self.lock:
                        self.pending.remove(post)
                elif r.status_code != 404:
                    self.errors += 1
            if not found:
                stop.wait(self.poll)


# --- observation: metrics and CPU ------------------------------------------------------------------------
def parse_metrics(text: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            lab, v = s.labels, s.value
            if s.name == "yishi_events_published_total":
                out[f"published.{lab['service']}.{lab['type']}"] += v
            elif s.name == "yishi_events_consumed_total":
                out[f"consumed.{lab['service']}.{lab['upstream']}.{lab['outcome']}"] += v
            elif s.name == "yishi_projection_position":
                out[f"projected.{lab['service']}.{lab['projection']}"] = max(out[f"projected.{lab['service']}.{lab['projection']}"], v)
            elif s.name == "yishi_relay_position":
                out[f"relay_position.{lab['service']}"] = max(out[f"relay_position.{lab['service']}"], v)
            elif s.name == "yishi_relay_lag_events":
                out[f"relay_lag.{lab['service']}"] = v
            elif s.name == "yishi_consumer_lag_messages":
                out[f"queue_depth.{lab['queue']}"] = max(out[f"queue_depth.{lab['queue']}"], v)
            elif s.name == "yishi_dead_letters_total":
                out["dead_letters"] += v
            elif s.name == "yishi_consumer_gaps_total":
                out["consumer_gaps"] += v
            elif s.name in ("yishi_handler_duration_seconds_sum", "yishi_handler_duration_seconds_count"):
                out[f"handler_{s.name.rsplit('_', 1)[1]}.{lab['service']}"] += v
            elif s.name in ("yishi_http_request_duration_seconds_sum", "yishi_http_request_duration_seconds_count"):
                if lab.get("method") == "POST" and lab.get("route") == "/issues":
                    out[f"http_post_{s.name.rsplit('_', 1)[1]}"] += v
    return out


def _ticks(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def _system_busy() -> float:
    """CPU seconds (all cores) the machine spent not idle since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK  # minus idle and iowait


def _system_detail() -> dict[str, float]:
    with open("/proc/stat") as f:
        fields = [int(x) / CLK_TCK for x in f.readline().split()[1:9]]
    return dict(zip(("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"), fields))


def wait_for_quiet(own_pids: list[int], limit: float, max_wait: float, stop: threading.Event,
                   window: float = 1.5) -> float:
    """Wait (at most max_wait s) until the rest of the machine uses under `limit` % of one core.

    Another test run on this machine would otherwise steal the CPU the benchmark measures. Returns
    that other load (in % of one core) over the last `window` s.
    """
    deadline = time.monotonic() + max_wait
    own = set(own_pids) | {os.getpid()}
    while True:
        busy0, ours0, t0 = _system_busy(), sum(_ticks(p) or 0.0 for p in own), time.monotonic()
        if stop.wait(window):
            return 0.0
        t1 = time.monotonic()
        other = 100 * ((_system_busy() - busy0) - (sum(_ticks(p) or 0.0 for p in own) - ours0)) / (t1 - t0)
        if other < limit or t1 >= deadline:
            return round(other)
        print(f"bench: the machine is busy with other work ({other:.0f}% of a core); waiting", file=sys.stderr, flush=True)


def cpu_seconds(pids: dict[str, int], dbname: str | None) -> dict[str, Any]:
    """CPU seconds of each Yishi process, of us, of the whole machine, and per pid of the PostgreSQL
    backends serving our database, other postgres processes and RabbitMQ (beam.smp)."""
    out: dict[str, Any] = {name: _ticks(pid) or 0.0 for name, pid in pids.items()}
    groups: dict[str, dict[int, float]] = {"postgres": {}, "postgres-other": {}, "rabbitmq": {}}
    everyone: dict[str, float] = defaultdict(float)  # by command name, to see who else used the CPU
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm") as f:
                comm = f.read().strip()
            everyone[comm] += _ticks(int(entry.name)) or 0.0
            if comm == "postgres":
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    ours = dbname is not None and f" {dbname} ".encode() in f.read()
                group = "postgres" if ours else "postgres-other"
            elif comm == "beam.smp":
                group = "rabbitmq"
            else:
                continue
        except OSError:
            continue
        groups[group][int(entry.name)] = _ticks(int(entry.name)) or 0.0
    out["groups"] = groups
    out["by_command"] = dict(everyone)
    out["bench"] = sum(os.times()[:2])
    out["machine"] = _system_busy()
    out["machine_detail"] = _system_detail()
    return out


def cpu_percent(a: dict[str, Any], b: dict[str, Any], seconds: float) -> dict[str, int]:
    """% of one core per process between two snapshots; a pid that appeared in between counts whole."""
    out: dict[str, Any] = {k: round(100 * (b[k] - a.get(k, 0.0)) / seconds) for k in b
                           if k not in ("groups", "by_command", "machine_detail")}
    for group, pids in b["groups"].items():
        before = a["groups"].get(group, {})
        out[group] = round(100 * sum(t - before.get(pid, 0.0) for pid, t in pids.items()) / seconds)
    out["machine_detail"] = {k: round(100 * (v - a["machine_detail"][k]) / seconds)
                             for k, v in b["machine_detail"].items()}
    by_command = {k: round(100 * (v - a["by_command"].get(k, 0.0)) / seconds) for k, v in b["by_command"].items()}
    out["top_commands"] = dict(sorted(((k, v) for k, v in by_command.items() if v >= 2), key=lambda kv: -kv[1])[:8])
    return out


class Scraper:
    def __init__(self, stack: Stack, interval: float = 0.5):
        self.urls = {s: stack.url(s) + "/metrics" for s in ("intake", "casework")}
        self.pids = stack.pids()
        self.dbname = stack.database_url.rsplit("/", 1)[1] if stack.database_url else None
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self.errors = 0
        self.session = requests.Session()
        self.pg = None
        if stack.database_url:
            import psycopg

            self.pg = psycopg.connect(stack.database_url, autocommit=True)

    def pg_waits(self) -> dict[str, float]:
        """What our database's backends are doing right now (state / wait event), and which tables they wait
        to lock, counted."""
        if self.pg is None:
            return {}
        rows = self.pg.execute(
            "SELECT state || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*) "
            "FROM pg_stat_activity WHERE datname = %s AND state <> 'idle' AND pid <> pg_backend_pid() GROUP BY 1",
            (self.dbname,)).fetchall()
        waits = self.pg.execute(
            "SELECT 'lock wait on ' || n.nspname || '.' || c.relname, count(*) FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT l.granted GROUP BY 1").fetchall()
        return {f"pg.{k}": float(v) for k, v in rows + waits}

    def sample(self) -> dict[str, Any]:
        values: dict[str, float] = {}
        for url in self.urls.values():
            try:
                values.update(parse_metrics(self.session.get(url, timeout=10).text))
            except requests.RequestException:
                self.errors += 1
        try:
            values.update(self.pg_waits())
        except Exception:
            self.errors += 1
        row = {"t": time.monotonic(), "m": values, "cpu": cpu_seconds(self.pids, self.dbname)}
        self.samples.append(row)
        return row

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            self.sample()
            stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def at(self, t: float, key: str, section: str = "m") -> float:
        """A metric at time t, interpolated between the samples around it."""
        ts = [s["t"] for s in self.samples]
        i = bisect.bisect_left(ts, t)
        if i == 0:
            return self.samples[0][section].get(key, 0.0)
        if i >= len(ts):
            return self.samples[-1][section].get(key, 0.0)
        a, b = self.samples[i - 1], self.samples[i]
        va, vb = a[section].get(key, 0.0), b[section].get(key, 0.0)
        return va + (vb - va) * (t - a["t"]) / (b["t"] - a["t"])

    def nearest(self, t: float) -> dict[str, Any]:
        return min(self.samples, key=lambda s: abs(s["t"] - t))

    def latest(self, key: str) -> float:
        return self.samples[-1]["m"].get(key, 0.0) if self.samples else 0.0


# --- statistics ------------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; inf values (never observed) count as larger than everything."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def ms(value: float | None) -> float | None:
    return None if value is None else (math.inf if math.isinf(value) else round(value * 1000, 1))


def slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 3:
        return 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den if den else 0.0


# A case opens with two events (Opened, Assigned) in casework's log, both published, and intake records
# each as a CaseProgressed: positions in these logs move that many steps per report.
CASE_EVENTS = 2
STAGES = (  # (name, counter, counter steps per report): each stage's cumulative output, in reports
    ("intake relay published IssueReported", "published.intake.IssueReported", 1),
    ("casework consumer applied", "consumed.casework.intake.applied", 1),
    ("casework projector (ledger)", "projected.casework.ledger", CASE_EVENTS),
    ("casework relay published CaseOpened", "published.casework.CaseOpened", 1),
    ("intake consumer applied CaseOpened + CaseAssigned", "consumed.intake.casework.applied", CASE_EVENTS),
    # its position is a notification id in intake's log: Reported and a CaseProgressed per case event
    ("intake projector (issue_index) ≈", "projected.intake.issue_index", 1 + CASE_EVENTS),
)


@dataclass
class Step:
    index: int
    rate: float
    start: float = 0.0
    end: float = 0.0
    other_before: float | None = None
    result: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, stack: Stack, args: argparse.Namespace, stop: threading.Event):
        self.stack = stack
        self.args = args
        self.stop = stop
        self.watcher = Watcher(stack.url("casework"))
        self.gen = LoadGenerator(stack.url("intake"), args.concurrency, self.watcher, args.sample_every)
        self.scraper = Scraper(stack)
        self.threads = [threading.Thread(target=self.watcher.run, args=(stop,), name="watcher", daemon=True),
                        threading.Thread(target=self.scraper.run, args=(stop,), name="scraper", daemon=True)]
        for t in self.threads:
            t.start()
        self.steps: list[Step] = []
        self.step_counter = 0

    def accepted_total(self) -> int:
        with self.gen.lock:
            return sum(1 for p in self.gen.posts if p.status == 201)

    def accepted_cum(self) -> list[float]:
        with self.gen.lock:
            return sorted(p.done for p in self.gen.posts if p.status == 201)

    def drain(self, timeout: float) -> float | None:
        """Wait until every accepted report's case is visible and intake has applied its CaseOpened;
        seconds it took, None on timeout."""
        started = time.monotonic()
        deadline = started + timeout
        self.gen.wait_idle(timeout)
        target = self.accepted_total()
        while time.monotonic() < deadline and not self.stop.is_set():
            self.stack.check_alive()
            # every report's case is visible, and intake has learnt of it (the return path is idle too)
            learnt = (self.scraper.latest("consumed.intake.casework.applied")
                      + self.scraper.latest("consumed.intake.casework.duplicate"))
            if (self.scraper.latest("projected.casework.ledger") >= CASE_EVENTS * target and learnt >= CASE_EVENTS * target
                    and self.watcher.pending_count() == 0):
                return time.monotonic() - started
            time.sleep(0.1)
        return None

    def warm_up(self, n: int = 20) -> None:
        t = time.monotonic()
        for _ in range(n):
            self.gen.submit(-1, t)
        if self.drain(60) is None:
            raise RuntimeError(f"warm-up: {n} reports did not become cases within 60 s: {self.stack.log_tail()}")

    def run_step(self, rate: float) -> Step:
        """One step; repeated once when other work on the machine took a sizeable share of the CPU."""
        step = self._run_step(rate)
        noisy = self.args.quiet_limit * 2
        if self.args.quiet_wait > 0 and step.result["cpu_percent"]["other"] > noisy and not self.stop.is_set():
            print(f"bench[{self.stack.store}]:   other work used {step.result['cpu_percent']['other']}% of a core "
                  f"during the step; repeating it", file=sys.stderr, flush=True)
            self.steps.remove(step)
            retry = self._run_step(rate)
            retry.result["repeated_because_other_cpu"] = step.result["cpu_percent"]["other"]
            return retry
        return step

    def _run_step(self, rate: float) -> Step:
        step = Step(self.step_counter, rate)
        self.step_counter += 1
        self.steps.append(step)
        if self.args.quiet_wait > 0:
            step.other_before = wait_for_quiet(list(self.scraper.pids.values()), self.args.quiet_limit,
                                               self.args.quiet_wait, self.stop)
        print(f"bench[{self.stack.store}]: step {step.index}: {rate:g} reports/s for {self.args.duration:g} s",
              file=sys.stderr, flush=True)
        step.start, step.end = self.gen.offer(step.index, rate, self.args.duration, self.stop)
        drained = self.drain(self.args.drain_timeout)
        self.scraper.sample()
        step.result = self.analyse(step, drained)
        r = step.result
        print(f"bench[{self.stack.store}]:   accepted {r['accepted_per_s']}/s, visible {r['visible_per_s']}/s, "
              f"e2e p50/p99 {r['e2e_ms']['p50']}/{r['e2e_ms']['p99']} ms, backlog growth {r['backlog_growth_per_s']}/s, "
              f"drained in {r['drain_s']} s -> {'sustainable' if r['sustainable'] else 'NOT sustainable: ' + '; '.join(r['reasons'])}",
              file=sys.stderr, flush=True)
        return step

    def analyse(self, step: Step, drained: float | None) -> dict[str, Any]:
        warm = min(self.args.warmup, step.end - step.start - 1)
        ws, we = step.start + warm, step.end
        span = we - ws
        with self.gen.lock:
            posts = [p for p in self.gen.posts if p.step == step.index]
        in_window = [p for p in posts if ws <= p.scheduled < we]
        ok = [p for p in in_window if p.status == 201]
        unsent = [p for p in posts if p.error == UNSENT]
        failed = [p for p in posts if p.status != 201 and p.error != UNSENT]
        with self.gen.lock:
            done_in_window = sum(1 for p in self.gen.posts if p.status == 201 and ws <= p.done < we)
        accepted_rate = done_in_window / span
        visible_rate = (self.scraper.at(we, "projected.casework.ledger")
                        - self.scraper.at(ws, "projected.casework.ledger")) / span / CASE_EVENTS

        accepted = self.accepted_cum()
        backlog = [(s["t"], bisect.bisect_right(accepted, s["t"]) - s["m"].get("projected.casework.ledger", 0.0) / CASE_EVENTS)
                   for s in self.scraper.samples if ws <= s["t"] <= we]
        growth = slope(backlog)

        sampled = [p for p in ok if p.sampled]
        e2e = [(p.visible - p.sent) if p.visible is not None else math.inf for p in sampled]
        thirds = max(1, len(sampled) // 3)
        e2e_first, e2e_last = pct(e2e[:thirds], 50), pct(e2e[-thirds:], 50)
        post_lat = [p.done - p.sent for p in ok]
        lateness = [p.sent - p.scheduled for p in in_window if p.sent]

        stages = {}
        for name, key, per_report in STAGES:
            stages[name] = {"per_s": round((self.scraper.at(we, key) - self.scraper.at(ws, key)) / span / per_report, 1),
                            "backlog_at_end": round(bisect.bisect_right(accepted, we) - self.scraper.at(we, key) / per_report)}
        queue_depth = {k.split(".", 1)[1]: v for k, v in self.scraper.samples[-1]["m"].items() if k.startswith("queue_depth.")}
        hc = {s: (self.scraper.at(we, f"handler_count.{s}") - self.scraper.at(ws, f"handler_count.{s}"),
                  self.scraper.at(we, f"handler_sum.{s}") - self.scraper.at(ws, f"handler_sum.{s}"))
              for s in ("casework", "intake")}
        post_n = self.scraper.at(we, "http_post_count") - self.scraper.at(ws, "http_post_count")
        post_sum = self.scraper.at(we, "http_post_sum") - self.scraper.at(ws, "http_post_sum")
        a, b = self.scraper.nearest(ws), self.scraper.nearest(we)
        cpu = cpu_percent(a["cpu"], b["cpu"], b["t"] - a["t"])
        ours = sum(cpu.get(k, 0) for k in (*self.scraper.pids, "bench", "postgres", "rabbitmq"))
        cpu["other"] = cpu["machine"] - ours  # other processes and kernel time not charged to a process

        in_win_samples = [x for x in self.scraper.samples if ws <= x["t"] <= we]
        pg_keys = {k for x in in_win_samples for k in x["m"] if k.startswith("pg.")}
        pg_active = {k[3:]: round(sum(x["m"].get(k, 0.0) for x in in_win_samples) / len(in_win_samples), 2)
                     for k in sorted(pg_keys)} if in_win_samples else {}

        reasons = []
        if failed:
            reasons.append(f"{len(failed)} failed POSTs")
        if unsent:
            reasons.append(f"{len(unsent)} reports not sent (all {self.args.concurrency} clients waiting on intake)")
        if accepted_rate < 0.95 * step.rate:
            reasons.append(f"intake accepted {accepted_rate:.1f}/s of {step.rate:g}/s offered")
        if visible_rate < 0.95 * accepted_rate:
            reasons.append(f"cases visible {visible_rate:.1f}/s < accepted {accepted_rate:.1f}/s")
        behind = [f"{name} {stage['per_s']:.0f}/s" for name, stage in stages.items()
                  if not name.endswith("≈") and stage["per_s"] < 0.9 * accepted_rate]
        if behind:
            reasons.append("stages behind: " + ", ".join(behind))
        if growth > max(1.0, 0.05 * step.rate):
            reasons.append(f"backlog grows {growth:.1f}/s")
        if drained is None:
            reasons.append(f"backlog not drained {self.args.drain_timeout:g} s after the step")
        errors = defaultdict(int)
        for p in failed:
            errors[(p.error or "?")[:80]] += 1
        return {
            "offered_per_s": step.rate,
            "window_s": round(span, 1),
            "sent": len([p for p in posts if p.sent]),
            "accepted_per_s": round(accepted_rate, 1),
            "visible_per_s": round(visible_rate, 1),
            "post_ms": {"p50": ms(pct(post_lat, 50)), "p99": ms(pct(post_lat, 99)), "max": ms(pct(post_lat, 100))},
            "post_server_mean_ms": round(1000 * post_sum / post_n, 1) if post_n else None,
            "client_lateness_ms": {"p99": ms(pct(lateness, 99)), "max": ms(pct(lateness, 100))},
            "e2e_ms": {"samples": len(sampled), "p50": ms(pct(e2e, 50)), "p95": ms(pct(e2e, 95)),
                       "p99": ms(pct(e2e, 99)), "max": ms(pct(e2e, 100)), "never_visible": sum(map(math.isinf, e2e)),
                       "p50_first_third": ms(e2e_first), "p50_last_third": ms(e2e_last)},
            "backlog_growth_per_s": round(growth, 1),
            "backlog_at_end": backlog[-1][1] if backlog else None,
            "drain_s": round(drained, 1) if drained is not None else None,
            "errors": len(failed),
            "unsent": len(unsent),
            "error_kinds": dict(errors),
            "stages": stages,
            "queue_depth_at_end": queue_depth,
            "handler_mean_ms": {s: round(1000 * t / n, 2) if n else None for s, (n, t) in hc.items()},
            "cpu_percent": cpu,
            "pg_active_backends_mean": pg_active,
            "other_cpu_before_step": step.other_before,
            "sustainable": not reasons,
            "reasons": reasons,
        }

    def verify(self) -> dict[str, Any]:
        """After the last drain: does every accepted report have its case in the ledger?"""
        with self.gen.lock:
            issued = {p.issue_id for p in self.gen.posts if p.status == 201}
        seen: set[str] = set()
        session, offset = requests.Session(), 0
        while True:
            page = session.get(f"{self.stack.url('casework')}/cases", params={"limit": 1000, "offset": offset},
                               timeout=30).json()["cases"]
            seen.update(c["issue_id"] for c in page)
            if len(page) < 1000:
                break
            offset += 1000
        m = self.scraper.sample()["m"]
        return {"accepted": len(issued), "cases": len(seen), "missing": len(issued - seen),
                "unexpected": len(seen - issued), "dead_letters": m.get("dead_letters", 0.0),
                "consumer_gaps": m.get("consumer_gaps", 0.0), "watcher_gets": self.watcher.gets,
                "watcher_errors": self.watcher.errors, "scrape_errors": self.scraper.errors}


# --- running it ------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    mem = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")), "0")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    info: dict[str, Any] = {"nproc": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1), "cpu": cpu,
                            "kernel": platform.release(), "python": platform.python_version()}
    try:
        import psycopg

        with psycopg.connect(ADMIN_DSN) as conn:
            info["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:
        pass
    try:
        info["rabbitmq"] = subprocess.run(["rabbitmqctl", "-q", "version"], capture_output=True, text=True,
                                          timeout=30).stdout.strip()
    except Exception:
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "shared", "services"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        info["commit"] = head + ("+dirty" if dirty else "")
    except Exception:
        pass
    return info


def rates_to_run(args: argparse.Namespace) -> list[float]:
    if args.rate:
        return [args.rate]
    return [float(r) for r in args.rates.split(",")]


def run_store(store: str, args: argparse.Namespace, stop: threading.Event) -> dict[str, Any]:
    stack = Stack(store, args.poll_interval, args.keep_tmp)
    started = time.monotonic()
    bench: Bench | None = None
    try:
        print(f"bench[{store}]: starting intake and casework (web + worker) in {stack.tmp}", file=sys.stderr, flush=True)
        stack.start()
        bench = Bench(stack, args, stop)
        bench.warm_up()
        ok: list[Step] = []
        bad: list[Step] = []
        for rate in rates_to_run(args):
            if stop.is_set():
                break
            step = bench.run_step(rate)
            (ok if step.result["sustainable"] else bad).append(step)
            if bad and not args.keep_going:
                break
        for _ in range(args.search):
            if not ok or not bad or stop.is_set():
                break
            lo, hi = max(s.rate for s in ok), min(s.rate for s in bad)
            if hi - lo < max(2.0, 0.1 * lo) or bench.drain(args.drain_timeout) is None:
                break
            step = bench.run_step(round((lo + hi) / 2))
            (ok if step.result["sustainable"] else bad).append(step)
        bench.drain(args.drain_timeout)
        verification = bench.verify()
        bench.gen.close()
        best = max(ok, key=lambda s: s.rate) if ok else None
        return {
            "store": store,
            "steps": [s.result for s in bench.steps],
            "max_sustainable_per_s": best.rate if best else None,
            "e2e_p99_ms_at_max_sustainable": best.result["e2e_ms"]["p99"] if best else None,
            "verification": verification,
            "log_lines": stack.log_counts(),
            "timeline": [{"t": round(s["t"] - started, 2), **{k: v for k, v in s["m"].items()}}
                         for s in bench.scraper.samples],
            "elapsed_s": round(time.monotonic() - started, 1),
        }
    finally:
        if bench is not None and bench.scraper.pg is not None:
            bench.scraper.pg.close()
        # a second Ctrl-C must not leave processes, a database or a vhost behind
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        stop.set()  # watcher and scraper threads
        stack.close()
        stop.clear()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and math.isinf(v):
        return "never"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| store | offered/s | accepted/s | cases visible/s | POST p50 / p99 ms | e2e p50 / p95 / p99 / max ms "
             "(samples) | backlog growth/s | drain s | errors | machine CPU % (other) | sustainable |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for res in results:
        for r in sorted(res["steps"], key=lambda r: r["offered_per_s"]):
            e = r["e2e_ms"]
            lines.append(
                f"| {res['store']} | {fmt(r['offered_per_s'])} | {fmt(r['accepted_per_s'])} | {fmt(r['visible_per_s'])} "
                f"| {fmt(r['post_ms']['p50'])} / {fmt(r['post_ms']['p99'])} "
                f"| {fmt(e['p50'])} / {fmt(e['p95'])} / {fmt(e['p99'])} / {fmt(e['max'])} ({e['samples']}) "
                f"| {fmt(r['backlog_growth_per_s'])} | {fmt(r['drain_s'])} | {r['errors']}"
                + (f" (+{r['unsent']} unsent)" if r.get("unsent") else "") + " "
                f"| {r['cpu_percent']['machine']} ({r['cpu_percent']['other']}) "
                f"| {'yes' if r['sustainable'] else 'no: ' + '; '.join(r['reasons'])} |")
    return "\n".join(lines)


def stage_table(results: list[dict[str, Any]]) -> str:
    procs = ("intake-web", "intake-worker", "casework-worker", "casework-web", "postgres", "rabbitmq", "bench",
             "other", "machine")
    lines = ["| store | offered/s | " + " | ".join(n for n, _, _ in STAGES) + " | " + " | ".join(f"CPU% {p}" for p in procs) + " |",
             "|---|---:|" + "---:|" * (len(STAGES) + len(procs))]
    for res in results:
        for r in sorted(res["steps"], key=lambda r: r["offered_per_s"]):
            lines.append(f"| {res['store']} | {fmt(r['offered_per_s'])} | "
                         + " | ".join(f"{fmt(r['stages'][n]['per_s'])}/s" for n, _, _ in STAGES) + " | "
                         + " | ".join(fmt(r["cpu_percent"].get(p)) for p in procs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rate", type=float, help="one fixed rate (reports/s) instead of the steps")
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)),
                        help="increasing rates to step through (default %(default)s)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per step (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds at the start of each step left out of the steady window (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=32, help="client threads/connections (default %(default)s)")
    parser.add_argument("--sample-every", type=int, default=5,
                        help="watch every Nth report's case for e2e latency (default %(default)s)")
    parser.add_argument("--drain-timeout", type=float, default=15.0,
                        help="seconds to wait for the backlog to drain after a step (default %(default)s)")
    parser.add_argument("--search", type=int, default=2,
                        help="bisection steps between the last sustainable and first unsustainable rate (default %(default)s)")
    parser.add_argument("--keep-going", action="store_true", help="run every rate even after an unsustainable one")
    parser.add_argument("--poll-interval", type=float, default=0.05,
                        help="YISHI_POLL_INTERVAL of the workers (default %(default)s, the platform default)")
    parser.add_argument("--quiet-wait", type=float, default=10.0,
                        help="before each step, wait up to this many seconds for other work on the machine to "
                             "drop under --quiet-limit (default %(default)s; 0: do not wait)")
    parser.add_argument("--quiet-limit", type=float, default=15.0,
                        help="%% of one core other processes may use before a step (default %(default)s)")
    parser.add_argument("--keep-tmp", action="store_true", help="keep logs and SQLite files of the run")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/*.json")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def terminate(*_: object) -> None:
        raise KeyboardInterrupt

    # also SIGINT: a shell that starts us in the background may have set it to "ignore"
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    info = machine()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench.e2e " + " ".join(sys.argv[1:] if argv is None else argv)
    results = []
    try:
        for store in stores:
            res = run_store(store, args, stop)
            res.update({"date": when, "command": command.strip(), "machine": info,
                        "settings": {k: v for k, v in vars(args).items() if k not in ("no_write", "keep_tmp")}})
            results.append(res)
            if not args.no_write:
                RESULTS.mkdir(parents=True, exist_ok=True)
                tmp = RESULTS / f"e2e-{store}.json.tmp"
                tmp.write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
                tmp.replace(RESULTS / f"e2e-{store}.json")
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stores' finally blocks already cleaned up
        print("bench: interrupted; processes stopped, database and vhost dropped", file=sys.stderr)
        return 130
    print(f"\nYishi end-to-end benchmark, {when}, {info['nproc']} CPUs / {info['memory_gib']} GiB, commit {info.get('commit')}")
    print(f"command: {command.strip()}\n")
    print(table(results))
    print("\nStage throughput over each steady window, and CPU in % of one core (machine: all cores, "
          f"at most {100 * (os.cpu_count() or 1)}; other: processes outside the benchmark, and the kernel):\n")
    print(stage_table(results))
    for res in results:
        for r in sorted(res["steps"], key=lambda r: r["offered_per_s"]):
            kinds = {k: v for k, v in r["error_kinds"].items() if k != UNSENT[:80]}
            if kinds:
                print(f"\n{res['store']} at {fmt(r['offered_per_s'])}/s, errors: {kinds}")
    for res in results:
        v = res["verification"]
        print(f"\n{res['store']}: highest sustainable rate {fmt(res['max_sustainable_per_s'])} reports/s "
              f"(e2e p99 {fmt(res['e2e_p99_ms_at_max_sustainable'])} ms); {v['accepted']} accepted, {v['cases']} cases, "
              f"{v['missing']} missing, {fmt(v['dead_letters'])} dead letters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
