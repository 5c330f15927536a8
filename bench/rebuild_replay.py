"""Operations at scale on PostgreSQL: `yishi rebuild`, `yishi replay` and `yishi audit verify` over N events.

    python -m bench.rebuild_replay [--events 100000]        # `make bench-ops` runs it with 1,000,000

Creates a throw-away PostgreSQL database and RabbitMQ vhost and fills intake's log directly: issues built
from the benchmark's reports (bench/load.py) with intake's own domain (so each carries its audit hash
chain), three events each (Reported, then casework's CaseOpened and CaseAssigned recorded as
CaseProgressed), encoded by intake's mapper and written with COPY, thousands per transaction. Then times,
as subprocesses exactly as an operator runs them:

* `yishi rebuild intake` — every read model rebuilt from the whole log into staging and swapped in;
* `yishi replay intake --from 0 --to-queue bench-replay` — the whole archive read and its published events
  (IssueReported, a third of the log) republished, confirmed, to one fresh queue (checked: all arrived);
* `yishi audit verify intake` — every aggregate's hash chain checked.

Prints a Markdown table, writes bench/results/ops-postgres.json. Everything is dropped at the end.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from kombu import Connection, Queue

from bench.load import Reports
from bench.pipeline import RESULTS, machine
from shared.config import Settings
from tests.support.infra import create_database, create_vhost, delete_vhost, drop_database
from tests.support.processes import ROOT

BATCH = 5000  # events per COPY transaction


_app = None  # each generating process's own IntakeApplication (for its mapper)


def _sealed(subject: str, fields: dict) -> dict:
    """Personal data sealed as intake seals it, under a throwaway key (the bench never opens it): events of
    the real size without a key row per issue."""
    import base64
    import json
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from services.intake.personal import Sealed

    nonce = os.urandom(12)
    ct = AESGCM(AESGCM.generate_key(256)).encrypt(nonce, json.dumps(fields, ensure_ascii=False).encode(), None)
    return Sealed(subject, base64.b64encode(nonce).decode(), base64.b64encode(ct).decode()).as_dict()


def _generate(job: tuple[Settings, int, int]) -> list[tuple]:
    """`count` events of `count // 3` issues, encoded as intake stores them, for COPY."""
    from services.intake.application import IntakeApplication
    from services.intake.domain import Issue, issue_id_for, new_reporter_ref, parse_report

    global _app
    settings, batch, count = job
    _app = _app or IntakeApplication(settings)
    reports = Reports(seed=batch, duplicates=0)
    rows: list[tuple] = []
    while len(rows) < count:
        now = datetime.now(timezone.utc)
        report, ref = parse_report(reports.next()[0], now), new_reporter_ref()
        issue = Issue.report_new(issue_id_for(None), report, now, ref, _sealed(ref, report.personal))
        case_id = str(issue_id_for(None))
        issue.record_case_progress(case_id, "open", now, {"step": "CaseOpened", "step_zh": "已立案分级",
                                                          "tier": "routine", "due": {}})
        issue.record_case_progress(case_id, "open", now, {"step": "CaseAssigned", "step_zh": "已指派责任主体",
                                                          "party": "物业服务企业"})
        rows += [(e.originator_id, e.originator_version, e.topic, e.state)
                 for e in map(_app.mapper.to_stored_event, issue.collect_events())]
    return rows[:count]


def seed(settings: Settings, n: int) -> tuple[float, int]:
    """n events in intake's log, built on every core, written by COPY: (seconds, issues reported)."""
    from services.intake.application import IntakeApplication

    app = IntakeApplication(settings)  # creates the schema and tables
    table = f"{app.name}.{app.name}_events"
    jobs = [(settings, i, min(BATCH, n - start)) for i, start in enumerate(range(0, n, BATCH))]
    started = time.perf_counter()
    with psycopg.connect(settings.database_url) as conn, multiprocessing.Pool(os.cpu_count()) as pool:
        for rows in pool.imap(_generate, jobs):
            with conn.cursor() as cur, cur.copy(f"COPY {table} (originator_id, originator_version, topic, state) "
                                                "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.commit()
        elapsed = time.perf_counter() - started
        issues = conn.execute(f"SELECT count(*) FROM {table} WHERE originator_version = 1").fetchone()[0]
    assert app.log_head() == n, f"log head {app.log_head()} after writing {n}"
    app.close()
    return elapsed, issues


def timed(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "shared.ops.cli", "--quiet", *args], cwd=ROOT, env=os.environ | env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"yishi {' '.join(args)} failed: {result.stderr[-2000:]}")
    print(result.stdout.strip()[-500:], file=sys.stderr)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="events in intake's log (default %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args()
    n = args.events
    pg_url, amqp_uri = create_database(), create_vhost()
    var = Path(os.environ.get("TMPDIR", "/tmp")) / f"yishi-bench-ops-{os.getpid()}"
    settings = Settings(database_url=pg_url, amqp_uri=amqp_uri, var_dir=var)
    env = {"DATABASE_URL": pg_url, "AMQP_URI": amqp_uri, "YISHI_VAR_DIR": str(var)}
    seconds: dict[str, float] = {}
    try:
        print(f"bench-ops: writing {n:,} events to intake's log ...", file=sys.stderr, flush=True)
        seconds["seed"], issues = seed(settings, n)
        seconds["rebuild"] = timed(env, "rebuild", "intake")
        with Connection(amqp_uri) as conn:  # lazy: a million messages wait on disk, not in the broker's memory
            Queue("bench-replay", durable=True, queue_arguments={"x-queue-mode": "lazy"})(conn.channel()).declare()
        seconds["replay"] = timed(env, "replay", "intake", "--from", "0", "--to-queue", "bench-replay")
        with Connection(amqp_uri) as conn:
            delivered = conn.default_channel.queue_declare("bench-replay", passive=True)[1]
        assert delivered == issues, f"replay delivered {delivered} of {issues} IssueReported"
        seconds["verify"] = timed(env, "audit", "verify", "intake")
    finally:
        drop_database(pg_url)
        delete_vhost(amqp_uri)
    info = machine()
    rows = [("write the log (domain + mapper, COPY)", "—", "seed"),
            ("rebuild every read model (staging + swap)", "yishi rebuild intake", "rebuild"),
            ("replay to one queue (confirmed)", "yishi replay intake --from 0 --to-queue bench-replay", "replay"),
            ("audit verify (every hash chain)", "yishi audit verify intake", "verify")]
    print(f"\n### Operations, PostgreSQL, {n:,} events in intake's log (commit {info['commit']})\n")
    print("| operation | command | seconds | log events/s |\n|---|---|---:|---:|")
    for label, command, key in rows:
        print(f"| {label} | {f'`{command}`' if command != '—' else command} | {seconds[key]:.1f} | {n / seconds[key]:,.0f} |")
    print(f"\nThe replay published {issues:,} messages ({issues / seconds['replay']:,.0f}/s).")
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "ops-postgres.json").write_text(json.dumps(
            {"events": n, "published_by_replay": issues, "seconds": seconds, "events_per_s": {k: round(n / v) for k, v in seconds.items()},
             "machine": info, "date": datetime.now(timezone.utc).isoformat(timespec="minutes")}, indent=1))


if __name__ == "__main__":
    main()
