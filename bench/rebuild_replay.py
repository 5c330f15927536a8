"""Rebuild and replay rates on PostgreSQL: `yishi rebuild intake` and `yishi replay intake --from 0` over N events.

    python -m bench.rebuild_replay [--events 100000] [--no-append]

Creates a throw-away PostgreSQL database and RabbitMQ vhost, records N `Issue.Reported` events with intake's
own Application (500 aggregates per transaction), projects them once (the live model), then times, as
subprocesses exactly as an operator runs them:

* `yishi rebuild intake` — the issue index rebuilt from the whole log into staging and swapped in;
* `yishi replay intake --from 0 --to-queue bench-replay` — the whole archive republished, confirmed, to one
  fresh queue (checked: the queue holds N messages afterwards).

Prints a Markdown row per command and appends the table to bench/README.md (unless --no-append).
Everything is dropped at the end.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from kombu import Connection, Queue

from shared.config import Settings
from shared.persistence import Database
from shared.projection import Projector
from tests.support.infra import create_database, create_vhost, delete_vhost, drop_database
from tests.support.processes import ROOT


def seed(settings: Settings, n: int) -> float:
    from services.intake.application import IntakeApplication
    from tests.support.factories import issues

    app = IntakeApplication(settings)
    started = time.perf_counter()
    for start in range(0, n, 500):
        app.save(*issues(min(500, n - start), start))
    elapsed = time.perf_counter() - started
    assert app.log_head() >= n
    app.close()
    return elapsed


def project_live(settings: Settings) -> None:
    from services.intake.bootstrap import SPEC

    app, db = SPEC.application(settings), Database("intake", settings)
    projector = Projector(app, db, SPEC.projections(), batch_size=2000)
    while projector.run_once():
        pass
    db.close()
    app.close()


def timed(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "shared.cli", "--quiet", *args], cwd=ROOT, env=os.environ | env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"yishi {' '.join(args)} failed: {result.stderr}")
    print(result.stdout.strip(), file=sys.stderr)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--no-append", action="store_true", help="print the table only")
    args = parser.parse_args()
    n = args.events
    pg_url, amqp_uri = create_database(), create_vhost()
    var = Path(os.environ.get("TMPDIR", "/tmp")) / f"yishi-bench-{os.getpid()}"
    settings = Settings(database_url=pg_url, amqp_uri=amqp_uri, var_dir=var)
    env = {"DATABASE_URL": pg_url, "AMQP_URI": amqp_uri, "YISHI_VAR_DIR": str(var)}
    try:
        print(f"seeding {n} events ...", file=sys.stderr)
        seed_s = seed(settings, n)
        project_live(settings)
        rebuild_s = timed(env, "rebuild", "intake")
        with Connection(amqp_uri) as conn:
            Queue("bench-replay", durable=True)(conn.channel()).declare()
        replay_s = timed(env, "replay", "intake", "--from", "0", "--to-queue", "bench-replay")
        with Connection(amqp_uri) as conn:
            delivered = conn.default_channel.queue_declare("bench-replay", passive=True)[1]
        assert delivered == n, f"replay delivered {delivered} of {n}"
    finally:
        drop_database(pg_url)
        delete_vhost(amqp_uri)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    machine = f"{os.cpu_count()} cores, {platform.python_implementation()} " \
              f"{platform.python_version()}"
    table = "\n".join([
        f"### Rebuild and replay, PostgreSQL, {n:,} events ({when})",
        "",
        "Command: `.venv/bin/python -m bench.rebuild_replay` (one run; " + machine + "; "
        "wall time of the `yishi` subprocess, start-up included).",
        "",
        "| operation | command | events | seconds | events/s |",
        "|---|---|---|---|---|",
        f"| seed (intake Application, 500 per transaction) | — | {n} | {seed_s:.1f} | {n / seed_s:,.0f} |",
        f"| rebuild (staging + swap) | `yishi rebuild intake` | {n} | {rebuild_s:.1f} | {n / rebuild_s:,.0f} |",
        f"| replay to one queue (confirmed) | `yishi replay intake --from 0 --to-queue bench-replay` | {n} | "
        f"{replay_s:.1f} | {n / replay_s:,.0f} |",
        "",
    ])
    print(table)
    if not args.no_append:
        with open(ROOT / "bench" / "README.md", "a", encoding="utf-8") as f:
            f.write("\n" + table)


if __name__ == "__main__":
    main()
