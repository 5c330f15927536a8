"""The whole-pipeline benchmark: report accepted → case in the ledger → every queue drained.

    python -m bench.pipeline [--store sqlite|postgres|both] [--rates 10,20,40,...] [--rate R] [--step S]
                             [--duration S] [--search N] [--idle S] [--burst RATE:SECONDS] [--clients N]

For each store: a throw-away RabbitMQ vhost (and PostgreSQL database) and every service's web and worker
process, as `make run` starts them (bench/stack.py). Then:

1. idle: nothing offered for --idle s; CPU of every process and PostgreSQL's transactions/statements per s;
2. steps: reports offered open-loop (Poisson arrivals, bench/load.py) at each of --rates for --step s, until
   one is not sustainable, then --search bisections; a step is *sustainable* when every report is accepted
   (201, none late), cases open as fast as reports are accepted, and the whole pipeline is drained within
   5 s of the load stopping (bench/observe.py `behind`: every queue empty, every relay and read model at
   its log's head, nothing moving);
3. sustained (--duration > 0): the highest sustainable rate (or --rate) held for --duration s;
4. burst (--burst, default 2000:30): that rate for that long, no report dropped however late: all accepted,
   how long until drained;
5. every accepted report has exactly one case in the ledger.

Per step, from quiescent point to quiescent point (so the counts are exact): CPU ms per report of every
process, PostgreSQL and RabbitMQ; events written per service (log heads), consumer deliveries, messages
published, PostgreSQL transactions (and statements) per report. e2e latency on every 5th report: POST sent
→ its case in the ledger (GET /cases) and, for an urgent one, its notice on the board (GET /notices).

Results: Markdown on stdout, JSON in bench/results/pipeline-<store>.json. Everything is removed at the end,
also on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

from bench.load import Client, Reports
from bench.observe import Observer, Watcher, behind, cpu_delta, signed_in
from bench.stack import SERVICES, Stack
from shared.runtime.supervisor import web_processes
from tests.support.processes import ROOT

RESULTS = ROOT / "bench" / "results"
DRAINED_WITHIN = 5.0  # s after the load stops: the sustainability bar
CPU_GROUPS = (*(f"{s}-{r}" for s in SERVICES for r in ("web", "worker")), "postgres", "postgres-server", "rabbitmq")


def pct(values: list[float], q: float) -> float | None:
    """Nearest rank; inf (never seen) sorts last."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else (math.inf if math.isinf(seconds) else round(1000 * seconds, 1))


def cpu_percent(cpu: dict[str, float], machine: float, seconds: float) -> dict[str, float]:
    """% of one core per group; `other`: what the rest of the machine (other work, the kernel) used meanwhile."""
    out = {k: round(100 * v / seconds, 1) for k, v in cpu.items()}
    out["machine"] = round(100 * machine / seconds, 1)
    out["other"] = round(out["machine"] - sum(v for k, v in out.items() if k != "machine"), 1)
    return out


class Bench:
    def __init__(self, stack: Stack, args: argparse.Namespace, stop: threading.Event):
        self.stack, self.args, self.stop = stack, args, stop
        self.obs = Observer(stack)
        self.watcher = Watcher(stack, args.sample_every)
        self.client = Client(stack.url("intake"), Reports(), args.clients, self.watcher.add)
        threading.Thread(target=self.watcher.run, args=(stop,), daemon=True, name="watcher").start()
        self.timeline: list[dict[str, Any]] = []  # a look every second while load is offered
        self.sampling = threading.Event()
        threading.Thread(target=self._sample, daemon=True, name="sampler").start()
        self.steps: list[dict[str, Any]] = []
        self.idle_cpu_per_s = 0.0  # CPU s per s of the idle system (all processes, PostgreSQL, RabbitMQ)
        self.idle_pg_per_s: dict[str, float] = {}  # transactions (statements) per s of the idle system

    def _sample(self) -> None:
        obs = Observer(self.stack)  # its own connections: neither kombu's nor psycopg's are shared by threads
        try:
            while not self.stop.is_set():
                if self.sampling.wait(0.5) and not self.stop.is_set():
                    snap = obs.snapshot(with_cpu=False)
                    if obs.pg:
                        snap["m"]["pg.backends"] = obs.pg.backends()
                    self.timeline.append(snap)
                    self.stop.wait(1.0)
        finally:
            obs.close()

    def at(self, t: float, key: str) -> float:
        """A counter at time t, interpolated between the timeline's looks."""
        points = [(s["t"], s["m"].get(key, 0.0)) for s in self.timeline]
        before = [p for p in points if p[0] <= t] or points[:1]
        after = [p for p in points if p[0] >= t] or points[-1:]
        (ta, va), (tb, vb) = before[-1], after[0]
        return va if tb == ta else va + (vb - va) * (t - ta) / (tb - ta)

    def drain(self, since: float, timeout: float) -> tuple[float | None, dict[str, Any], list[str]]:
        """Wait until the pipeline is drained: (seconds after `since`, or None on timeout; last look; why not)."""
        prev = self.obs.snapshot()
        while True:
            self.stack.check_alive()
            self.stop.wait(0.5)
            cur = self.obs.snapshot()
            why = behind(prev, cur) + (["clients still sending"] if self.client.outstanding else [])
            if not why:
                return max(0.0, prev["t"] - since), cur, []
            if cur["t"] - since > timeout or self.stop.is_set():
                return None, cur, why
            prev = cur

    # --- measurements -----------------------------------------------------------------------------
    def warm_up(self) -> None:
        self.client.offer("warm-up", 20, 2, self.stop)
        if self.drain(time.monotonic(), 90)[0] is None:
            raise RuntimeError("warm-up: 40 reports did not drain within 90 s")
        self.watcher.wait(10)

    def idle(self, seconds: float) -> dict[str, Any]:
        print(f"bench[{self.stack.store}]: idle for {seconds:g} s", file=sys.stderr, flush=True)
        a = self.obs.snapshot()
        self.stop.wait(seconds)
        b = self.obs.snapshot()
        span = b["t"] - a["t"]
        cpu = cpu_delta(a["cpu"], b["cpu"])
        system = sum(v for k, v in cpu.items() if k != "bench")
        self.idle_cpu_per_s = system / span
        self.idle_pg_per_s = {k: (b["m"][k] - a["m"][k]) / span for k in b["m"] if k.startswith("pg.")}
        return {"seconds": round(span, 1),
                "cpu_percent_of_a_core": cpu_percent(cpu, b["machine"] - a["machine"], span)
                | {"system": round(100 * system / span, 1)},
                **{f"{k[3:]}_per_s": round((b["m"][k] - a["m"][k]) / span, 1) for k in b["m"] if k.startswith("pg.")},
                "events_written_per_s": round(sum(b["m"].get(f"head.{s}", 0) - a["m"].get(f"head.{s}", 0)
                                                  for s in SERVICES) / span, 2)}

    def step(self, name: str, rate: float, seconds: float, burst: bool = False) -> dict[str, Any]:
        print(f"bench[{self.stack.store}]: {name}: {rate:g} reports/s for {seconds:g} s", file=sys.stderr, flush=True)
        self.client.max_lateness = None if burst else 5.0
        self.client.deadline = time.monotonic() + seconds + self.args.burst_timeout if burst else math.inf
        before = self.obs.snapshot()
        self.timeline.append(before)
        self.sampling.set()
        start, end = self.client.offer(name, rate, seconds, self.stop)
        drained, after, why = self.drain(end, self.args.burst_timeout if burst else max(30.0, seconds))
        self.sampling.clear()
        self.timeline.append(after)
        self.watcher.wait(10)
        result = self.analyse(name, rate, start, end, before, after, drained, why)
        self.steps.append(result)
        print(f"bench[{self.stack.store}]:   accepted {result['accepted_per_s']}/s, cases {result['cases_opened_per_s']}/s, "
              f"e2e p50/p99 {result['e2e_ms']['p50']}/{result['e2e_ms']['p99']} ms, drained in {result['drain_s']} s, "
              f"CPU {result['per_report']['cpu_ms']['all']} ms/report -> "
              + ("sustainable" if result["sustainable"] else "NOT sustainable: " + "; ".join(result["reasons"])),
              file=sys.stderr, flush=True)
        return result

    def analyse(self, name: str, rate: float, start: float, end: float, before: dict[str, Any],
                after: dict[str, Any], drained: float | None, why: list[str]) -> dict[str, Any]:
        posts = self.client.of_step(name)
        ok = [p for p in posts if p.status == 201]
        unsent = [p for p in posts if p.error == "unsent"]
        failed = [p for p in posts if p.status != 201 and p.error != "unsent"]
        ws = start + min(self.args.warmup, (end - start) / 4)  # steady window [ws, end]
        span = end - ws
        accepted_rate = sum(1 for p in ok if ws <= p.done < end) / span
        offered_rate = sum(1 for p in posts if ws <= p.scheduled < end) / span
        opened_rate = (self.at(end, "opened") - self.at(ws, "opened")) / span
        samples = [s for s in self.watcher.samples if s.step == name]
        e2e = [(s.done - s.sent) if s.done is not None else math.inf for s in samples]
        to_ledger = [(s.in_ledger - s.sent) if s.in_ledger else math.inf for s in samples]
        to_board = [s.on_board - s.sent for s in samples if s.on_board]
        n = max(1, len(ok))
        cpu = {k: v for k, v in cpu_delta(before["cpu"], after["cpu"]).items()}
        m0, m1 = before["m"], after["m"]
        delta = {k: m1.get(k, 0.0) - m0.get(k, 0.0) for k in m1}
        per = lambda key: round(delta.get(key, 0.0) / n, 2)  # noqa: E731
        total = sum(cpu.get(k, 0.0) for k in CPU_GROUPS)
        idle = self.idle_cpu_per_s * (after["t"] - before["t"])  # what the system would have used anyway
        per_report = {
            "cpu_ms": {k: round(1000 * cpu.get(k, 0.0) / n, 2) for k in CPU_GROUPS}
            | {"all": round(1000 * total / n, 2),
               "all_above_idle": round(1000 * (total - idle) / n, 2) if self.idle_cpu_per_s else None,
               "bench": round(1000 * cpu.get("bench", 0.0) / n, 2),
               "machine": round(1000 * (after["machine"] - before["machine"]) / n, 2)},
            "events_written": {s: per(f"head.{s}") for s in SERVICES},
            "deliveries": {s: round(sum(v for k, v in delta.items() if k.startswith(f"consumed.{s}.")) / n, 2)
                           for s in SERVICES},
            "published": {s: per(f"published.{s}") for s in SERVICES},
            **{k[3:]: per(k) for k in delta if k.startswith("pg.")},
            **{f"{k[3:]}_above_idle": round((delta.get(k, 0.0) - rate * (after["t"] - before["t"])) / n, 2)
               for k, rate in self.idle_pg_per_s.items()},
        }
        for key in ("events_written", "deliveries", "published"):
            per_report[key]["all"] = round(sum(per_report[key].values()), 2)
        reasons = []
        if failed:
            reasons.append(f"{len(failed)} failed POSTs")
        if unsent:
            reasons.append(f"{len(unsent)} reports not sent (every client waited on intake)")
        if accepted_rate < 0.95 * offered_rate:
            reasons.append(f"accepted {accepted_rate:.1f}/s of {offered_rate:.1f}/s offered")
        if opened_rate < 0.95 * accepted_rate:
            reasons.append(f"cases opened {opened_rate:.1f}/s < accepted {accepted_rate:.1f}/s")
        if drained is None or drained > DRAINED_WITHIN:
            reasons.append(f"drained in {drained:.1f} s" if drained is not None else "not drained: " + "; ".join(why[:4]))
        if any(math.isinf(x) for x in e2e):
            reasons.append(f"{sum(map(math.isinf, e2e))} watched reports never seen in the ledger/on the board")
        errors: dict[str, int] = {}
        for p in failed:
            errors[(p.error or "?")[:80]] = errors.get((p.error or "?")[:80], 0) + 1
        backends = [s["m"]["pg.backends"] for s in self.timeline if start <= s["t"] <= end and "pg.backends" in s["m"]]
        return {
            "step": name, "offered_per_s": rate, "seconds": round(end - start, 1),
            "reports": len(posts), "accepted": len(ok), "duplicates_sent": sum(p.duplicate for p in ok),
            "merged": sum(p.merged for p in ok), "errors": len(failed), "unsent": len(unsent), "error_kinds": errors,
            "accepted_per_s": round(accepted_rate, 1), "cases_opened_per_s": round(opened_rate, 1),
            "post_ms": {f"p{q}": ms(pct([p.done - p.sent for p in ok], q)) for q in (50, 99)},
            "e2e_ms": {"samples": len(samples), "urgent_on_board": sum(1 for s in samples if s.on_board),
                       **{f"p{q}": ms(pct(e2e, q)) for q in (50, 95, 99, 100)}},
            "to_ledger_ms": {f"p{q}": ms(pct(to_ledger, q)) for q in (50, 99)},
            "to_board_ms": {f"p{q}": ms(pct(to_board, q)) for q in (50, 99)},
            "drain_s": None if drained is None else round(drained, 1), "not_drained": why,
            "per_report": per_report,
            "cpu_percent": cpu_percent(cpu, after["machine"] - before["machine"], after["t"] - before["t"]),
            "pg_backends_max": max(backends, default=None),
            "queues_max": {q: max(s["queues"].get(q, 0) for s in self.timeline if start <= s["t"] <= after["t"])
                           for q in after["queues"]},
            "dead_letters": delta.get("dead_letters", 0.0), "consumer_gaps": delta.get("consumer_gaps", 0.0),
            "sustainable": not reasons, "reasons": reasons,
        }

    def ceiling(self) -> dict[str, Any] | None:
        """Step up the rates until one is not sustainable, then bisect (down from the first step if even that
        one failed); the highest sustainable step."""
        ok: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        for rate in ([self.args.rate] if self.args.rate else self.args.rates):
            if self.stop.is_set():
                break
            (ok if self.step(f"{rate:g}/s", rate, self.args.step)["sustainable"] else bad).append(self.steps[-1])
            if bad:
                break
        for _ in range(self.args.search):
            if not bad or self.stop.is_set():
                break
            lo = max((s["offered_per_s"] for s in ok), default=0.0)
            hi = min(s["offered_per_s"] for s in bad)
            if hi - lo < max(2.0, 0.1 * lo):
                break
            self._settle()
            rate = round((lo + hi) / 2)
            (ok if self.step(f"{rate:g}/s", rate, self.args.step)["sustainable"] else bad).append(self.steps[-1])
        return max(ok, key=lambda s: s["offered_per_s"]) if ok else None

    def _settle(self) -> None:
        """After an unsustainable step, let the backlog go before the next one."""
        if self.drain(time.monotonic(), 300)[0] is None:
            raise RuntimeError("the pipeline did not drain within 300 s")

    def verify(self) -> dict[str, Any]:
        """Every accepted report has exactly one case in the ledger."""
        import urllib.request

        accepted = set(self.client.accepted_ids())
        cases: dict[str, int] = {}
        offset = 0
        while True:
            request = urllib.request.Request(f"{self.stack.url('casework')}/cases?limit=1000&offset={offset}",
                                             headers=signed_in(self.stack))
            with urllib.request.urlopen(request, timeout=60) as r:
                page = json.loads(r.read())["cases"]
            for c in page:
                cases[c["issue_id"]] = cases.get(c["issue_id"], 0) + 1
            if len(page) < 1000:
                break
            offset += 1000
        return {"accepted": len(accepted), "cases": sum(cases.values()), "missing": len(accepted - cases.keys()),
                "more_than_one": sum(1 for v in cases.values() if v > 1), "unexpected": len(cases.keys() - accepted),
                "watcher_errors": self.watcher.errors}


def run_store(store: str, args: argparse.Namespace, stop: threading.Event) -> dict[str, Any]:
    stack = Stack(store, args.keep_tmp, args.web_processes)
    started = time.monotonic()
    try:
        print(f"bench[{store}]: starting {', '.join(SERVICES)} (web + worker each) in {stack.tmp}", file=sys.stderr,
              flush=True)
        stack.start()
        bench = Bench(stack, args, stop)
        bench.warm_up()
        out: dict[str, Any] = {"store": store, "idle": bench.idle(args.idle) if args.idle else None}
        best = bench.ceiling() if args.step else None
        out["max_sustainable_per_s"] = best["offered_per_s"] if best else None
        if args.duration and (rate := args.rate or (best and best["offered_per_s"])):
            bench._settle()
            out["sustained"] = bench.step(f"sustained {rate:g}/s", rate, args.duration)
        if args.burst:
            rate, seconds = (float(x) for x in args.burst.split(":"))
            bench._settle()
            out["burst"] = bench.step(f"burst {rate:g}/s", rate, seconds, burst=True)
        bench.drain(time.monotonic(), 300)
        out |= {"verification": bench.verify(), "steps": bench.steps, "log_problems": stack.log_problems(),
                "elapsed_s": round(time.monotonic() - started, 1)}
        bench.client.close()
        bench.obs.close()
        return out
    finally:
        handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        stop.set()  # watcher and sampler
        stack.close()
        stop.clear()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def machine() -> dict[str, Any]:
    mem = next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    info = {"nproc": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1), "python": platform.python_version()}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "shared", "services"], cwd=ROOT,
                           capture_output=True, text=True).stdout
    # a tree exported without .git (git archive) names its commit in YISHI_BENCH_COMMIT
    info["commit"] = os.environ.get("YISHI_BENCH_COMMIT") or (head.strip() or "?") + ("+dirty" if dirty.strip() else "")
    return info


# --- reporting ---------------------------------------------------------------------------------------------
def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and math.isinf(v):
        return "never"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def steps_table(results: list[dict[str, Any]]) -> str:
    lines = ["| store | step | accepted/s | cases/s | POST p50 / p99 ms | e2e p50 / p99 / max ms (samples) "
             "| to ledger / to board p99 ms | drained s "
             "| CPU ms/report | events / deliveries / published per report | PG xact per report | sustainable |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for res in results:
        for r in res["steps"]:
            e, p = r["e2e_ms"], r["per_report"]
            lines.append(
                f"| {res['store']} | {r['step']} | {fmt(r['accepted_per_s'])} | {fmt(r['cases_opened_per_s'])} "
                f"| {fmt(r['post_ms']['p50'])} / {fmt(r['post_ms']['p99'])} | {fmt(e['p50'])} / {fmt(e['p99'])} / "
                f"{fmt(e['p100'])} ({e['samples']}) | {fmt(r['to_ledger_ms']['p99'])} / {fmt(r['to_board_ms']['p99'])} "
                f"| {fmt(r['drain_s'])} | {fmt(p['cpu_ms']['all'])} "
                f"| {fmt(p['events_written']['all'])} / {fmt(p['deliveries']['all'])} / {fmt(p['published']['all'])} "
                f"| {fmt(p.get('transactions'))} | {'yes' if r['sustainable'] else 'no: ' + '; '.join(r['reasons'])} |")
    return "\n".join(lines)


def shown_step(res: dict[str, Any]) -> dict[str, Any] | None:
    """The highest sustainable step, else the lowest one measured (not the burst)."""
    steps = [s for s in res["steps"] if not s["step"].startswith("burst")]
    ok = [s for s in steps if s["sustainable"]]
    return max(ok, key=lambda s: s["offered_per_s"]) if ok else min(steps, key=lambda s: s["offered_per_s"], default=None)


def cost_table(results: list[dict[str, Any]]) -> str:
    """Per report at each store's highest sustainable step: CPU per process, events and deliveries per service."""
    lines = ["| per report | " + " | ".join(r["store"] for r in results) + " |", "|---|" + "---:|" * len(results)]
    best = [shown_step(r) for r in results]

    def row(label: str, get) -> None:
        lines.append(f"| {label} | " + " | ".join(fmt(get(b["per_report"])) if b else "–" for b in best) + " |")

    lines.append("| at step | " + " | ".join((b["step"] + ("" if b["sustainable"] else " (not sustainable)"))
                                             if b else "–" for b in best) + " |")
    for g in (*CPU_GROUPS, "all", "all_above_idle", "bench"):
        row(f"CPU ms, {g}", lambda p, g=g: p["cpu_ms"].get(g))
    for kind in ("events_written", "deliveries", "published"):
        for s in (*SERVICES, "all"):
            row(f"{kind.replace('_', ' ')}, {s}", lambda p, k=kind, s=s: p[k].get(s))
    for key in ("transactions", "transactions_above_idle", "statements", "statements_above_idle", "rows_inserted",
                "rows_updated"):
        row(f"PostgreSQL {key.replace('_', ' ')}", lambda p, k=key: p.get(k))
    return "\n".join(lines)


def summary(res: dict[str, Any]) -> str:
    idle, v = res["idle"], res["verification"]
    best = next((s for s in res["steps"] if s["offered_per_s"] == res["max_sustainable_per_s"] and s["sustainable"]),
                None)
    parts = [f"{res['store']}: highest sustainable {fmt(res['max_sustainable_per_s'])} reports/s"]
    if best:
        parts.append(f"e2e p50/p99 {fmt(best['e2e_ms']['p50'])}/{fmt(best['e2e_ms']['p99'])} ms, "
                     f"{fmt(best['per_report']['cpu_ms']['all'])} ms CPU per report")
    if idle:
        parts.append(f"idle: {idle['cpu_percent_of_a_core']['system']} % of a core"
                     + (f", {idle['transactions_per_s']} transactions/s" if "transactions_per_s" in idle else "")
                     + (f", {idle['statements_per_s']} statements/s" if "statements_per_s" in idle else ""))
    for key in ("sustained", "burst"):
        if res.get(key):
            s = res[key]
            parts.append(f"{s['step']}: {s['accepted']}/{s['reports']} accepted, {s['errors']} errors, "
                         f"drained in {fmt(s['drain_s'])} s")
    parts.append(f"{v['accepted']} accepted, {v['cases']} cases, {v['missing']} missing, "
                 f"{v['more_than_one']} with more than one")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rates", default="10,20,40,80,160,320,640", type=lambda s: [float(x) for x in s.split(",")],
                        help="increasing rates (reports/s) to step through (default %(default)s)")
    parser.add_argument("--rate", type=float, help="one rate instead of the steps (with --duration: held that long)")
    parser.add_argument("--step", type=float, default=20.0, help="seconds per step (default %(default)s; 0: no steps)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of each step left out of its rates")
    parser.add_argument("--search", type=int, default=2, help="bisections after the first unsustainable step")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="then hold the highest sustainable rate (or --rate) this long, e.g. 300 (default: no)")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the idle measurement (0: none)")
    parser.add_argument("--burst", default="2000:30", help="RATE:SECONDS of the burst ('' : none; default %(default)s)")
    parser.add_argument("--burst-timeout", type=float, default=600.0,
                        help="the burst's reports are sent at most this long after it ends, and it must drain by then")
    parser.add_argument("--clients", type=int, default=64, help="client threads, one connection each")
    parser.add_argument("--web-processes", type=int, default=None,
                        help="web processes per service (default: as make run starts them, YISHI_WEB_PROCESSES or 2)")
    parser.add_argument("--sample-every", type=int, default=5, help="watch every Nth report end to end")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the processes' logs and SQLite files")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.rate and not args.duration:
        args.rates, args.search = [args.rate], 0

    stop = threading.Event()

    def terminate(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)  # also when started in the background with SIGINT ignored
    info = machine()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench.pipeline " + " ".join(sys.argv[1:] if argv is None else argv)
    results = []
    try:
        for store in ("sqlite", "postgres") if args.store == "both" else (args.store,):
            res = run_store(store, args, stop) | {"date": when, "command": command.strip(), "machine": info,
                                                  "web_processes": args.web_processes or web_processes()}
            results.append(res)
            if not args.no_write:
                RESULTS.mkdir(parents=True, exist_ok=True)
                (RESULTS / f"pipeline-{store}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("bench: interrupted; processes stopped, database and vhost dropped", file=sys.stderr)
        return 130
    print(f"\nYishi whole pipeline: report accepted → every queue drained. {when}, {info['nproc']} CPUs, "
          f"commit {info['commit']}, {args.web_processes or web_processes()} web processes per service\n"
          f"command: {command.strip()}\n")
    print(steps_table(results))
    print("\nPer report at the highest sustainable step (CPU ms over every process; counts from log heads, "
          "consumer and relay counters, pg_stat_database):\n")
    print(cost_table(results))
    print()
    for res in results:
        print(summary(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
