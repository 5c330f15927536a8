"""kill -9 the outbox relay, then the consumer, while a few thousand events flow: each one still
takes effect exactly once.

intake's log is seeded with N `Issue.Reported` events; the intake worker's relay publishes them to
`intake.events`; the casework worker applies each (one case per issue) and its own relay publishes
`CaseOpened`, which the intake worker applies (its case_progress view). The first test SIGKILLs the
intake worker (relay, and intake's consumer) several times mid-batch, the second SIGKILLs the casework
worker (consumer, and casework's relay) several times mid-stream; each is restarted at once. Then, on
the embedded SQLite default and on PostgreSQL, both directions must hold exactly N effects, N tracking
rows equal to the upstream's notification ids, and the duplicates the kills caused must have been seen
and dropped.

N comes from YISHI_FAULT_EVENTS (default 3000; `make fault` uses 20000), the kill count from
YISHI_FAULT_KILLS (default 3), the random seed from YISHI_FAULT_SEED (printed on every run).
"""
from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from services.casework.application import CaseworkApplication
from services.casework.domain import Case
from shared.messaging import topology
from shared.config import Settings
from shared.store.persistence import Database
from tests.support.faults import (consumer_queues_ready, domain_events, metric_sum, queue_ready, reading,
                                  seed_issues)
from tests.support.processes import System, wait_until

pytestmark = pytest.mark.slow

N = int(os.environ.get("YISHI_FAULT_EVENTS", "3000"))
KILLS = int(os.environ.get("YISHI_FAULT_KILLS", "3"))
RELAY_BATCH = 500  # shared.messaging.relay.Relay's default batch: positions are saved once per batch
CASEWORK_QUEUE = topology.consumer_queue("casework", "intake").name
INTAKE_QUEUE = topology.consumer_queue("intake", "casework").name
SETTLE_TIMEOUT = max(90.0, N / 25)  # generous: 2 cores, both directions, on PostgreSQL


@pytest.fixture
def rng() -> random.Random:
    seed = int(os.environ.get("YISHI_FAULT_SEED") or random.randrange(1 << 32))
    print(f"YISHI_FAULT_SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def seeded(settings: Settings) -> dict[int, str]:
    """N issues reported straight into intake's store: {notification id: issue id}."""
    return seed_issues(settings, N)


def kill_points(total: int, kills: int, rng: random.Random) -> list[int]:
    """Progress marks spread over the run, each jittered, so kills land at different moments."""
    step = total / (kills + 1)
    return [int(step * (i + 1) + rng.uniform(-0.3, 0.3) * step) for i in range(kills)]


def kill_repeatedly(system: System, service: str, progress: Callable[[], int], points: list[int],
                    rng: random.Random, pause: tuple[float, float],
                    observe: Callable[[], int] | None = None) -> list[tuple[int, int | None]]:
    """SIGKILL `service`'s worker once progress passes each point, and start a new one at once.

    A kill waits until the running instance itself made progress (so it is up and busy), then a
    random pause within `pause`. A point the new instance passed while it started is skipped: it ran
    ahead of the killer (a relay publishes a whole seeded log in about a second). Returns (progress,
    observe()) read just before each kill.
    """
    observed = []
    for point in points:
        at_start = progress()
        if observed and at_start >= point:
            continue
        wait_until(lambda: (p := progress()) >= point and p > at_start, timeout=60, interval=0.01,
                   message=f"{service} worker progress past {point} (from {at_start})")
        time.sleep(rng.uniform(*pause))
        observed.append((progress(), observe() if observe else None))
        system.procs[(service, "worker")].kill()
        system.start(service, "worker")
    return observed


def settle(system: System, settings: Settings, seeded: dict[int, str]) -> None:
    """Wait until both directions applied everything, then drain every queue and stop the workers.

    Tracking rows count first applications; duplicates still queued (or unacked) are drained too, so
    that the counts below would see any late effect. Stopped consumers return unacked messages, so
    an empty queue with no consumer means everything was consumed.
    """
    with reading("casework", settings) as casework, reading("intake", settings) as intake:
        wait_until(lambda: casework.tracked("intake") >= N, timeout=SETTLE_TIMEOUT, interval=0.5,
                   message=f"casework applying {N} IssueReported")
        wait_until(lambda: intake.tracked("casework") >= N, timeout=SETTLE_TIMEOUT, interval=0.5,
                   message=f"intake applying {N} CaseOpened")
        # every relay is past its log head: nothing left to publish
        wait_until(lambda: intake.relay_position() >= max(seeded), timeout=30, message="intake relay done")
        wait_until(lambda: casework.relay_position() >= casework.log_head(), timeout=30,
                   message="casework relay done")
    for _ in range(5):
        for service in ("intake", "casework"):
            system.procs[(service, "worker")].stop()
        ready = consumer_queues_ready(settings.amqp_uri, ("intake", "casework"))  # the two running here
        assert not any(v for k, v in ready.items() if k.endswith(".dead")), f"dead letters: {ready}"
        if not any(ready.values()):
            return
        for service in ("casework", "intake"):
            system.start(service, "worker")
        for queue in (CASEWORK_QUEUE, INTAKE_QUEUE):
            wait_until(lambda: queue_ready(settings.amqp_uri, queue) == 0, timeout=60, interval=0.2,
                       message=f"{queue} drained")
        time.sleep(1.0)  # prefetched (unacked) messages finish
    raise AssertionError(f"queues never drained: {ready}")


def assert_exactly_once(settings: Settings, seeded: dict[int, str], metrics_dir: Path) -> None:
    # intake -> casework: one case per issue, one tracking row per IssueReported, no gaps or extras
    case_log = domain_events(CaseworkApplication, settings)
    opened = [(nid, e) for nid, e in case_log if isinstance(e, Case.Opened)]
    assert len(case_log) == len(opened) == N, \
        f"{len(opened)} cases opened of {len(case_log)} events for {N} issues (each case: Opened, dispatched in it)"
    per_issue = Counter(e.issue_id for _, e in opened)
    assert len(per_issue) == N and set(per_issue) == set(seeded.values()), "some issue has no case, or two"
    with reading("casework", settings) as casework:
        assert casework.tracked_ids("intake") == sorted(seeded)

    # casework -> intake: one timeline entry per step (CaseOpened and the dispatch it carries), one tracking row each
    db = Database("intake", settings)
    try:
        timelines = {issue_id: len(json.loads(doc)["timeline"])
                     for issue_id, doc in db.query("SELECT issue_id, doc FROM case_progress")}
    finally:
        db.close()
    assert len(timelines) == N and set(timelines.values()) == {2}, \
        f"{sum(timelines.values())} timeline entries for {len(timelines)} issues, expected {N} x 2"
    with reading("intake", settings) as intake:
        assert intake.tracked_ids("casework") == [nid for nid, _ in case_log]

    for service in ("casework", "intake"):
        assert metric_sum(metrics_dir, "yishi_consumer_gaps_total", service=service) == 0
        assert metric_sum(metrics_dir, "yishi_dead_letters_total", service=service) == 0


def consumed(metrics_dir: Path, service: str, outcome: str) -> float:
    return metric_sum(metrics_dir, "yishi_events_consumed_total", service=service, outcome=outcome)


def published(metrics_dir: Path, service: str) -> float:
    return metric_sum(metrics_dir, "yishi_events_published_total", service=service)


def test_relay_killed_mid_batch_republishes_and_every_event_takes_effect_once(
        system: System, settings: Settings, seeded: dict[int, str], rng: random.Random, tmp_path: Path):
    if N < RELAY_BATCH * (KILLS + 1):
        pytest.skip(f"{KILLS} mid-batch relay kills need YISHI_FAULT_EVENTS >= {RELAY_BATCH * (KILLS + 1)}")
    last_reported = max(seeded)
    system.start("casework", "worker")
    system.start("intake", "worker")
    with reading("intake", settings) as intake:
        # The saved position moves once per confirmed batch of 500: just after it moves, the relay is
        # publishing the next batch, so a kill 50-250 ms later leaves published but unsaved messages.
        at_kill = [p for p, _ in kill_repeatedly(system, "intake", intake.relay_position,
                                                 kill_points(last_reported - RELAY_BATCH, KILLS, rng), rng,
                                                 pause=(0.05, 0.25))]
    settle(system, settings, seeded)
    metrics = tmp_path / "metrics"
    duplicates = consumed(metrics, "casework", "duplicate")
    print(f"relay kills at saved positions {at_kill} of {last_reported}; casework dropped {duplicates:.0f} "
          "republished duplicates")

    assert all(0 < p < last_reported for p in at_kill), f"a kill did not land while publishing: {at_kill}"
    assert_exactly_once(settings, seeded, metrics)
    assert consumed(metrics, "casework", "applied") == N  # the consumer was never killed: exact
    # published counts a batch once its position is saved: a killed batch is counted by its republish only
    assert published(metrics, "intake") == N
    assert duplicates > 0, "no kill left a published but unsaved batch: the test proved nothing"


def test_consumer_killed_mid_stream_gets_redeliveries_and_every_event_takes_effect_once(
        system: System, settings: Settings, seeded: dict[int, str], rng: random.Random, tmp_path: Path):
    system.start("intake", "worker")
    system.start("casework", "worker")
    with reading("casework", settings) as casework:
        # Ready messages left in the queue at a kill mean the consumer's prefetch window was full: the
        # kill returned `prefetch` unacked messages to the queue, to be redelivered to the next worker.
        kills = kill_repeatedly(system, "casework", lambda: casework.tracked("intake"), kill_points(N, KILLS, rng),
                                rng, pause=(0.0, 0.1), observe=lambda: queue_ready(settings.amqp_uri, CASEWORK_QUEUE))
    settle(system, settings, seeded)
    metrics = tmp_path / "metrics"
    at_kill = [p for p, _ in kills]
    print(f"consumer kills after {at_kill} of {N} applied, with {[r for _, r in kills]} more ready behind the "
          f"prefetched ones; casework dropped "
          f"{consumed(metrics, 'casework', 'duplicate'):.0f} duplicates, intake dropped "
          f"{consumed(metrics, 'intake', 'duplicate'):.0f} (casework's relay was killed too)")

    assert all(0 < p < N for p in at_kill), f"a kill did not land while consuming: {at_kill}"
    assert any(ready for _, ready in kills), "no kill caught a full prefetch window: nothing was redelivered"
    assert_exactly_once(settings, seeded, metrics)
    assert published(metrics, "intake") == N  # intake's relay was never killed: all redundancy is redelivery


CRASH_EVENTS = 600
CRASHES = 6  # more than the consumer's max_attempts (5)


def test_crash_looping_consumer_dead_letters_no_event_it_never_attempted(
        system: System, settings: Settings, tmp_path: Path):
    """A consumer that dies right after each event it applies (say, each time the next one is handled)
    must not dead-letter the healthy events it had merely prefetched."""
    seeded = seed_issues(settings, CRASH_EVENTS)
    system.start("intake", "worker")
    with reading("intake", settings) as intake:
        wait_until(lambda: intake.relay_position() >= max(seeded), timeout=60, message="all published")
    system.start("casework", "worker")
    with reading("casework", settings) as casework:
        at_kill = []
        for _ in range(CRASHES):
            before = casework.tracked("intake")
            wait_until(lambda: casework.tracked("intake") > before, timeout=60, interval=0.005,
                       message="the restarted consumer applies an event")
            at_kill.append(casework.tracked("intake"))
            system.procs[("casework", "worker")].kill()
            system.start("casework", "worker")
        dead_queue = CASEWORK_QUEUE + ".dead"
        wait_until(lambda: casework.tracked("intake") + queue_ready(settings.amqp_uri, dead_queue) >= CRASH_EVENTS,
                   timeout=60, interval=0.2, message="every event applied or dead-lettered")
        dead = queue_ready(settings.amqp_uri, dead_queue)
        applied = casework.tracked("intake")
    print(f"consumer crashed after {at_kill} applied; {dead} dead-lettered, {applied} applied")
    assert dead == 0 and applied == CRASH_EVENTS, \
        f"{dead} events dead-lettered that no handler failed on ({applied} of {CRASH_EVENTS} applied)"
