"""`yishi`: the operator's command line (运维命令). Same configuration as the services: DATABASE_URL,
YISHI_VAR_DIR, AMQP_URI. Every command has --help; failures exit non-zero with a one-line reason.

    yishi status [--json]
    yishi rebuild <service> [<read model>]
    yishi replay <service> --from <sequence> --to-queue <queue>
    yishi dead-letters list|retry|drop [--queue Q] [--id MESSAGE_ID ... | --all]
    yishi audit verify <service>
    yishi docs [--check]
    yishi calendar set <year> --holidays D,D..D --workdays D,... --role ROLE --name NAME [--document TEXT]
    yishi calendar show [--json]
    yishi clock set <RFC 3339> | advance <ISO 8601 duration> | show
    yishi token --role ROLE --name NAME [--community C] [--party P] [--hours H] | --every-role
    yishi erase <reporter_ref> [--name NAME] [--token T] [--url URL]
    yishi migrate <service> <step>
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from shared import clock
from shared.config import Settings, http_port
from shared.edge.access import ROLES
from shared.edge.identity import IdentitySettings
from shared.edge.signing import issue_token
from shared.runtime.spec import built_services, load_spec


class Failure(Exception):
    """A failure the operator can act on: printed as one line, exit status 1."""


@contextmanager
def progress_bar(total: int, what: str, quiet: bool) -> Iterator[Callable[[int], None]]:
    bar = tqdm(total=total, desc=what, unit="ev", unit_scale=True, disable=quiet, file=sys.stderr, leave=False)
    try:
        yield bar.update
    finally:
        bar.close()


def _service(name: str) -> str:
    if name not in built_services():
        raise argparse.ArgumentTypeError(f"no built service {name!r} (built: {', '.join(built_services())})")
    return name


def _app(service: str, settings: Settings) -> tuple[Any, Any]:
    spec = load_spec(service)
    return spec, spec.application(settings)


# commands ---------------------------------------------------------------------------------------

def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from kombu import Connection

    from shared.messaging import broker
    from shared.ops.operations import format_status, service_status

    conn = Connection(settings.amqp_uri, connect_timeout=5)
    broker_error = None
    try:
        conn.ensure_connection(max_retries=broker.retries(settings.amqp_uri))
    except Exception as exc:
        broker_error = f"broker unreachable: {type(exc).__name__}: {exc}"
        conn = None
    statuses = []
    for service in built_services():
        try:
            statuses.append(service_status(service, settings, conn))
        except Exception as exc:
            statuses.append({"service": service, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]})
    if conn is not None:
        conn.release()
    print(json.dumps(statuses, indent=2, ensure_ascii=False) if args.json else format_status(statuses))
    if nodes_down := broker.describe(broker.node_states(settings.amqp_uri)):
        print(f"yishi: {nodes_down}", file=sys.stderr)  # a warning: the cluster still serves every queue
    failed = [s["service"] for s in statuses if "error" in s]
    if broker_error:
        print(f"yishi: {broker_error} (queue depths unknown)", file=sys.stderr)
    if failed or broker_error:
        print(f"yishi: status incomplete: {', '.join(failed) or 'broker'} unavailable", file=sys.stderr)
        return 1
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from shared.store.persistence import Database
    from shared.ops.rebuild import RebuildError, select_projections

    spec, app = _app(args.service, settings)
    db = Database(args.service, settings)
    try:
        chosen = select_projections([*spec.projections(), *app.views], args.read_model)
        if not chosen:
            raise Failure(f"{args.service} has no read models")
        for projection in chosen:
            _rebuild(args, settings, app, db, projection)
    except RebuildError as exc:
        raise Failure(str(exc)) from None
    finally:
        db.close()
        app.close()
    return 0


def _rebuild(args: argparse.Namespace, settings: Settings, app: Any, db: Any, projection: Any) -> None:
    """One read model: from the service's own log, or a view from its upstream's archive."""
    from shared.ops.rebuild import Rebuilder, ViewRebuilder
    from shared.store.projection import UpstreamView

    if not isinstance(projection, UpstreamView):
        with progress_bar(app.log_head(), f"{args.service}/{projection.name}", args.quiet) as progress:
            position = Rebuilder(app, db, projection, batch_size=args.batch).run(progress)
        print(f"{args.service}/{projection.name}: rebuilt from the log up to {position}, swapped in")
        return
    up_spec, upstream = _app(projection.upstream, settings)
    try:
        with progress_bar(upstream.log_head(), f"{args.service}/{projection.name}", args.quiet) as progress:
            position = ViewRebuilder(app, db, projection, upstream, up_spec.publisher(upstream),
                                     batch_size=args.batch).run(progress)
    finally:
        upstream.close()
    print(f"{args.service}/{projection.name}: rebuilt from {projection.upstream}'s archive up to {position}, "
          "swapped in")


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from shared.ops.replay import ReplayError, replay

    if args.start < 0:
        raise Failure("--from must be 0 or more")
    spec, app = _app(args.service, settings)
    try:
        head = app.log_head()
        with progress_bar(max(head - max(args.start, 1) + 1, 0), f"replay {args.service}", args.quiet) as progress:
            result = replay(app, spec.publisher(app), settings.amqp_uri, args.to_queue, args.start, progress=progress)
    except ReplayError as exc:
        raise Failure(str(exc)) from None
    finally:
        app.close()
    print(f"{args.service}: replayed {result['published']} events ({result['first']}..{result['last']}) "
          f"to {args.to_queue}")
    return 0


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from shared.ops.operations import dead_letter_queues, dead_letters, drop, retry

    if args.action != "list" and not (args.all or args.ids):
        raise Failure(f"dead-letters {args.action}: name the messages with --id, or pass --all")
    try:
        with dead_letters(settings.amqp_uri, dead_letter_queues(args.queue)) as (conn, channel, taken):
            if args.action == "list":
                rows = [letter.summary() for letter, _ in taken]
                if args.json:
                    print(json.dumps(rows, indent=2, ensure_ascii=False))
                else:
                    for r in rows:
                        print(f"{r['queue']}  {r['message_id']}  {r['type']}  attempts={r['attempts']}  {r['error']}")
                    print(f"{len(rows)} dead letter(s)")
                return 0
            chosen = [(letter, m) for letter, m in taken if args.all or letter.message_id in args.ids]
            missing = set(args.ids) - {letter.message_id for letter, _ in chosen}
            if missing:
                raise Failure(f"no dead letter with id {', '.join(sorted(missing))}: nothing done")
            done = retry(conn, channel, chosen) if args.action == "retry" else drop(channel, chosen)
            verb = "republished to their queues" if args.action == "retry" else "dropped"
            print(f"{done} dead letter(s) {verb}")
            return 0
    except LookupError as exc:
        raise Failure(str(exc).strip("'\"")) from None


def _held_checkpoints(path: str | None) -> list[dict[str, Any]]:
    """Checkpoints kept outside the log: a JSON file of one AuditCheckpointed CloudEvent, its data, or a list."""
    if path is None:
        return []
    try:
        held = json.loads(open(path, encoding="utf-8").read())
    except (OSError, ValueError) as exc:
        raise Failure(f"--checkpoint {path}: {exc}") from None
    return [c.get("data", c) for c in (held if isinstance(held, list) else [held])]


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from shared.audit import verify_all
    from shared.ops.checkpoints import recorded

    held = _held_checkpoints(args.checkpoint)
    _, app = _app(args.service, settings)
    try:
        with progress_bar(app.log_head(), f"verify {args.service}", args.quiet) as progress:
            report = verify_all(app, progress, checkpoints=recorded(app) + held)
    finally:
        app.close()
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "heads" or args.heads}, indent=2))
    if report["broken"]:
        for b in report["broken"]:
            print(f"yishi: {args.service}: audit chain broken: aggregate {b['aggregate_id']} at version "
                  f"{b['version']}: {b['reason']}", file=sys.stderr)
        return 1
    if not args.json:
        print(f"{args.service}: {report['aggregates']} aggregates, {report['events']} events: every chain verified, "
              f"the log agrees with {report['checkpoints']} checkpoint(s)")
    return 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    from shared.ops.docs import write_documents

    stale = write_documents(check=args.check)
    if args.check and stale:
        raise Failure(f"out of date: {', '.join(stale)} (run `yishi docs`)")
    print("documents " + ("up to date" if args.check else "written: " + (", ".join(stale) or "no change")))
    return 0


def _embedded_only() -> None:
    identity = IdentitySettings.from_env()
    if not identity.embedded:
        raise Failure(f"tokens come from the identity provider {identity.issuer}: sign in there")


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """A bearer token from the embedded provider (the local key under the var dir)."""
    _embedded_only()
    if args.every_role:
        print("yishi: bearer tokens of the embedded sign-on (Authorization: Bearer <token>), valid "
              f"{args.hours:g} h:", flush=True)
        for role, zh in ROLES.items():
            print(f"  {role:<24} {issue_token(role, f'{zh}(示例)', args.community, hours=args.hours)}")
        return 0
    if not args.role or not args.name:
        raise Failure("--role and --name are required (or --every-role)")
    print(issue_token(args.role, args.name, args.community, hours=args.hours, party=args.party))
    return 0


def _bearer(args: argparse.Namespace) -> str:
    """The token a staff command sends: --token, else YISHI_TOKEN, else one of the embedded provider's."""
    token = getattr(args, "token", None) or os.environ.get("YISHI_TOKEN")
    if token:
        return token
    _embedded_only()
    return issue_token(args.role, args.name)


def _casework(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None,
              token: str | None = None, service: str = "casework") -> Any:
    """One call to a service's HTTP API (the calendar is casework's data, residents' data intake's; the command
    is their client)."""
    url = args.url or os.environ.get(f"YISHI_{service.upper()}_URL") or f"http://127.0.0.1:{http_port(service)}"
    request = urllib.request.Request(url.rstrip("/") + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json", "accept-language": "zh-CN"}
                                     | ({"authorization": f"Bearer {token}"} if token else {}))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            problem = json.load(exc)
        except ValueError:
            problem = {}
        field = f" ({problem['field']})" if problem.get("field") else ""
        raise Failure(f"{service} refused: {exc.code} {problem.get('detail', exc.reason)}{field}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Failure(f"{service} unreachable at {url}: {getattr(exc, 'reason', exc)}") from None


def _dates(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def cmd_calendar_set(args: argparse.Namespace, settings: Settings) -> int:
    body = {"holidays": _dates(args.holidays), "workdays": _dates(args.workdays), "document": args.document}
    answer = _casework(args, "PUT", f"/calendar/{args.year}", {k: v for k, v in body.items() if v is not None},
                       _bearer(args))
    year = answer["years"][0]
    print(f"{args.year}: {'recorded' if answer['recorded'] else 'already entered as given, nothing recorded'}; "
          f"{len(year['holidays'])} days off, {len(year['workdays'])} make-up workdays; "
          f"{len(answer['retimed'])} open deadline(s) re-timed")
    if year["statutory_days_missing"]:
        print(f"yishi: check the notice: statutory days not given off: {', '.join(year['statutory_days_missing'])}",
              file=sys.stderr)
    return 0


def cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    """A resident's personal data erased (PIPL art. 47) through intake, as the secretary: the data key destroyed."""
    answer = _casework(args, "DELETE", f"/residents/{args.reporter_ref}", None, _bearer(args), service="intake")
    print(f"{answer['subject_ref']}: " + (f"erased at {answer['erased_at']}" if answer["erased"]
                                         else f"already erased at {answer['erased_at']}"))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """A service's one-off migration step, on its store (stop the service's processes first)."""
    from shared.store.persistence import Database

    spec, app = _app(args.service, settings)
    if args.step not in spec.migrations:
        app.close()
        raise Failure(f"{args.service} has no migration {args.step!r} (has: {', '.join(spec.migrations) or 'none'})")
    db = Database(args.service, settings)
    try:
        print(f"{args.service} {args.step}: {spec.migrations[args.step](app, db)}")
    finally:
        db.close()
        app.close()
    return 0


def cmd_calendar_show(args: argparse.Namespace, settings: Settings) -> int:
    answer = _casework(args, "GET", "/calendar")
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
        return 0
    for year in answer["years"]:
        print(f"{year['year']}  {year['source']:<8}  {year['source_zh']}")
    package = answer["package"]
    print(f"package: {package['name']} {package['version']} ({package['first_year']}–{package['last_year']})")
    return 0


def _test_clock(settings: Settings) -> clock.TestClock:
    reason = clock.refusal(os.environ)
    if reason:
        raise Failure(f"a test clock is refused here: {reason}")
    return clock.TestClock(settings.var_dir / clock.FILE)


def _moved(test_clock: clock.TestClock, move: Callable[[], Any]) -> int:
    try:
        move()
    except ValueError as exc:
        raise Failure(str(exc)) from None
    return _show(test_clock)


def cmd_clock_set(args: argparse.Namespace, settings: Settings) -> int:
    test_clock = _test_clock(settings)
    return _moved(test_clock, lambda: test_clock.set(clock.parse_moment(args.moment)))


def cmd_clock_advance(args: argparse.Namespace, settings: Settings) -> int:
    test_clock = _test_clock(settings)
    return _moved(test_clock, lambda: test_clock.advance(clock.parse_duration(args.duration)))


def cmd_clock_show(args: argparse.Namespace, settings: Settings) -> int:
    return _show(_test_clock(settings))


def _show(test_clock: clock.TestClock) -> int:
    print(f"test clock: {clock.rfc3339(test_clock())} (real time + {test_clock.offset()})")
    if os.environ.get(clock.ENABLE) != "1":
        print(f"yishi: the services follow it only when started with {clock.ENABLE}=1", file=sys.stderr)
    return 0


# the parser -------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="yishi", description="Operate Yishi (议事): read models, archive replay, "
                                  "status, dead letters, audit trail. Configured like the services: DATABASE_URL, "
                                  "YISHI_VAR_DIR, AMQP_URI.")
    top.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("status", help="each service's log head, relay, consumers, dead letters, read models",
                       description="Each built service's log head, relay position and lag, consumer positions "
                                   "(highest tracked upstream sequence), queue depths, dead letters and read-model "
                                   "positions. Exits 1 when a store or the broker cannot be read.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser("rebuild", help="rebuild read models from the service's log (views: upstream's), online",
                       description="Rebuild one read model (or all of a service's) from its own log, or an upstream "
                                   "view from its upstream's archive, into a staging area while the service keeps "
                                   "answering from the old one, then swap it in, in one transaction.")
    p.add_argument("service", type=_service)
    p.add_argument("read_model", nargs="?", help="projection or view name (default: every read model of the service)")
    p.add_argument("--batch", type=int, default=2000, help="events per staging transaction (default 2000)")
    p.set_defaults(run=cmd_rebuild)

    p = sub.add_parser("replay", help="republish the archive from a position to one queue only",
                       description="Republish a service's public events with sequence >= --from, in order, with "
                                   "their original CloudEvents ids and routing keys, to one existing queue only "
                                   "(through an exchange made for this replay and bound to that queue).")
    p.add_argument("service", type=_service)
    p.add_argument("--from", dest="start", type=int, required=True, help="first sequence to replay (0: everything)")
    p.add_argument("--to-queue", required=True, help="the subscriber's queue (must exist)")
    p.set_defaults(run=cmd_replay)

    p = sub.add_parser("dead-letters", help="list, retry or drop dead-lettered messages",
                       description="Dead letters of the consumer queues (<queue>.dead). retry republishes each, "
                                   "CloudEvent unchanged, to the queue it failed in; drop discards it.")
    p.add_argument("action", choices=("list", "retry", "drop"))
    p.add_argument("--queue", help="one queue (its .dead queue is meant); default: every consumer queue")
    p.add_argument("--id", dest="ids", action="append", default=[], help="message id (CloudEvent id); repeatable")
    p.add_argument("--all", action="store_true", help="every dead letter of the chosen queues")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.set_defaults(run=cmd_dead_letters)

    audit = sub.add_parser("audit", help="audit trail commands", description="Audit trail (审计留痕) commands.")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="AUDIT_COMMAND")
    p = audit_sub.add_parser("verify", help="verify every aggregate's hash chain",
                             description="Check the hash chain of every aggregate of a service, and the log against "
                                         "its audit checkpoints. Exits 1 naming the first broken link of each "
                                         "broken aggregate, or the checkpoint the log no longer agrees with.")
    p.add_argument("service", type=_service)
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.add_argument("--heads", action="store_true", help="with --json: each aggregate's head hash (to anchor elsewhere)")
    p.add_argument("--checkpoint", metavar="FILE", help="also check the log against a checkpoint held outside it (an "
                   "AuditCheckpointed event as a subscriber received it): shows a cut tail")
    p.set_defaults(run=cmd_audit_verify)

    p = sub.add_parser("docs", help="regenerate docs/asyncapi.yaml and docs/openapi/<service>.yaml",
                       description="Write the AsyncAPI document from the event catalogue and add or remove OpenAPI "
                                   "operations to match each built service's routes (hand-written parts are kept).")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a document is out of date")
    p.set_defaults(run=cmd_docs)

    calendar = sub.add_parser("calendar", help="the working-day calendar: enter a year's holiday notice",
                              description="The working-day calendar (节假日安排), kept by casework. Calls casework's "
                                          "HTTP API: --url, else YISHI_CASEWORK_URL, else 127.0.0.1 on its port.")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True, metavar="CALENDAR_COMMAND")
    p = calendar_sub.add_parser("set", help="enter the State Council's notice for a year",
                                description="Enter the State Council's holiday notice for a year (recorded in "
                                            "casework's log); open cases whose working-day deadlines it moves are "
                                            "re-timed. Dates are YYYY-MM-DD, ranges YYYY-MM-DD..YYYY-MM-DD.")
    p.add_argument("year", help="the year the notice is for, e.g. 2027")
    p.add_argument("--holidays", required=True, help="days off (放假), comma-separated dates or ranges")
    p.add_argument("--workdays", default="", help="weekend days worked instead (调休上班), comma-separated")
    p.add_argument("--document", help="the notice's title or number, e.g. 国办发明电〔2026〕N号")
    p.add_argument("--role", default="secretary", choices=("community_worker", "secretary"),
                   help="who enters it (embedded sign-on): role")
    p.add_argument("--name", default="社区书记", help="who enters it (embedded sign-on): name")
    p.add_argument("--token", help="a bearer token from the identity provider (else YISHI_TOKEN)")
    p.add_argument("--url", help="casework's base URL")
    p.set_defaults(run=cmd_calendar_set)
    p = calendar_sub.add_parser("show", help="which years are entered, from the package, or a fallback",
                                description="Each year's source: entered (the notice), package (chinesecalendar) "
                                            "or fallback (weekends and statutory dates, no make-up workdays).")
    p.add_argument("--json", action="store_true", help="casework's answer as JSON")
    p.add_argument("--url", help="casework's base URL")
    p.set_defaults(run=cmd_calendar_show)

    test_clock = sub.add_parser("clock", help="a test deployment's clock: set or advance it",
                                description="The clock of a deployment started with YISHI_TEST_CLOCK=1 (refused under "
                                            "YISHI_ENV=production or a PostgreSQL on another machine): every "
                                            "service of the var dir moves with it, and their timers and deadline "
                                            "watchers fire on their next tick. It moves forward only.")
    clock_sub = test_clock.add_subparsers(dest="clock_command", required=True, metavar="CLOCK_COMMAND")
    p = clock_sub.add_parser("set", help="move the clock to a moment", description="Move the test clock to a moment.")
    p.add_argument("moment", help="RFC 3339 with its offset, e.g. 2026-12-20T09:00:00+08:00")
    p.set_defaults(run=cmd_clock_set)
    p = clock_sub.add_parser("advance", help="move the clock on by a duration",
                             description="Move the test clock on by an ISO 8601 duration (weeks, days, hours, "
                                         "minutes, seconds).")
    p.add_argument("duration", help="e.g. P3DT2H, P10D, PT90M")
    p.set_defaults(run=cmd_clock_advance)
    p = clock_sub.add_parser("show", help="the test clock's time", description="The test clock's time and offset.")
    p.set_defaults(run=cmd_clock_show)

    p = sub.add_parser("erase", help="erase a resident's personal data (PIPL art. 47) through intake",
                       description="Destroy a resident's data key through intake's DELETE /residents/{reporter_ref} "
                                   "as the secretary and record the erasure: their name, phone, e-mail and room can "
                                   "no longer be read anywhere. Calls intake: --url, else YISHI_INTAKE_URL, else "
                                   "127.0.0.1 on its port.")
    p.add_argument("reporter_ref", help="the resident's reference, e.g. rp-0123456789abcdef")
    p.add_argument("--name", default="社区书记", help="who erases it (embedded sign-on, role secretary): name")
    p.add_argument("--token", help="a secretary's bearer token from the identity provider (else YISHI_TOKEN)")
    p.add_argument("--url", help="intake's base URL")
    p.set_defaults(run=cmd_erase, role="secretary")

    p = sub.add_parser("migrate", help="run a service's one-off migration step on its store",
                       description="Run one of a service's one-off migration steps on its store, with the service's "
                                   "processes stopped (e.g. `yishi migrate intake seal-contacts`: seal reporters' "
                                   "contacts recorded in clear before sealing). A step that rewrites the log "
                                   "re-chains what it rewrote and records it in the audit checkpoints.")
    p.add_argument("service", type=_service)
    p.add_argument("step")
    p.set_defaults(run=cmd_migrate)

    p = sub.add_parser("token", help="print a bearer token of the embedded sign-on",
                       description="A bearer token signed by the embedded identity provider (the key under "
                                   "YISHI_IDENTITY_DIR, else <var dir>/identity; created on first use). Refused when "
                                   "YISHI_OIDC_ISSUER names a real provider.")
    p.add_argument("--role", choices=tuple(ROLES), help="the role the token carries")
    p.add_argument("--name", help="the staff member's (or city system's) name, recorded as the actor")
    p.add_argument("--community", help="the community the staff member works in")
    p.add_argument("--party", help="the organisation a property company's or department's staff act for")
    p.add_argument("--hours", type=float, default=12, help="how long it is valid (default 12)")
    p.add_argument("--every-role", action="store_true", help="one token per role (what `make run` prints)")
    p.set_defaults(run=cmd_token)
    return top


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")  # nameko's import, not ours to act on
    logging.basicConfig(level=logging.WARNING, format="yishi %(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        return args.run(args, Settings.from_env())
    except Failure as exc:
        print(f"yishi: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("yishi: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a store or broker that is down: say which, no traceback for the operator
        print(f"yishi: {args.command} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        return 1


if __name__ == "__main__":
    sys.exit(main())
