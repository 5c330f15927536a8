"""Entry point of a service's worker process: `python -m shared.runtime.worker <service>`.

Runs, without eventlet, the parts that follow logs: the outbox relay (only while this process holds the
service's leadership), and one ordered consumer per upstream service (RabbitMQ's single-active-consumer picks
one among instances). Read models need no follower: the log's writers apply them.
"""
from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading

from shared import metrics
from shared.messaging import topology
from shared.config import Settings
from shared.messaging.consumer import Consumer
from shared.store.leadership import Leadership
from shared.store.persistence import Database, store_failed
from shared.messaging.relay import Relay
from shared.store.wakeup import await_other_writers, watch_wal
from shared.runtime.spec import ServiceSpec, Ticker, load_spec

log = logging.getLogger("yishi.worker")


def lead(spec: ServiceSpec, app, db: Database, settings: Settings, stop: threading.Event) -> None:
    """While this process holds the service's leadership, run its relay; else stand by."""
    leadership = Leadership(spec.name, settings)
    while not stop.is_set():
        try:
            if leadership.try_acquire():
                _run_as_leader(spec, app, db, settings, stop, leadership)
        except Exception:  # the store is down: stand by and try again, never leave the log unrelayed
            log.exception("%s: cannot lead now; retrying", spec.name)
        finally:
            leadership.release()
        stop.wait(1.0)


def _run_as_leader(spec: ServiceSpec, app, db: Database, settings: Settings, stop: threading.Event,
                   leadership: Leadership) -> None:
    log.info("%s: leading (relay)", spec.name)
    lead_stop = threading.Event()
    relay = Relay(app, db, spec.publisher(app), settings.amqp_uri, poll_interval=settings.poll_interval)
    threads = [threading.Thread(target=relay.run, args=(lead_stop,), name="relay", daemon=True)]
    if not settings.uses_postgres:
        threads.append(threading.Thread(target=watch_wal, args=(app, lead_stop), name="wakeup", daemon=True))
    for t in threads:
        t.start()
    while not stop.is_set():
        try:
            await_other_writers(app, leadership, stop)
        except Exception:
            log.warning("%s: leadership session lost; standing by", spec.name)
            break
        if not leadership.still_held():
            log.warning("%s: leadership lost; standing by", spec.name)
            break
        if not all(t.is_alive() for t in threads):
            log.error("%s: the relay thread died; restarting it", spec.name)
            break
    lead_stop.set()
    for t in threads:
        t.join()


def tick(ticker: Ticker, app, db: Database, settings: Settings, stop: threading.Event) -> None:
    """Run periodic work in every instance (not only the leader): it must be, and is, race-safe."""
    interval = settings.tick_interval or ticker.interval
    while not stop.wait(interval):
        try:
            ticker.run(app, db)
        except Exception:  # the store went away: the next tick tries again
            log.exception("%s: %s failed; retrying in %ss", app.name, ticker.name, interval)


def _open_store(spec: ServiceSpec, settings: Settings, stop: threading.Event):
    """The application, its database and its consumers, once the store answers (a worker started during an
    outage waits for it rather than exit); None when stopped first."""
    while not stop.is_set():
        app = None
        try:
            app = spec.application(settings)
            db = app.read_models  # one read-model pool per process: connections are a shared budget
            consumers = [Consumer(app, db, upstream, settings.amqp_uri, max_attempts=settings.max_attempts,
                                  window_seconds=settings.consumer_window)
                         for upstream in topology.upstreams(spec.name)]
            return app, db, consumers
        except Exception as exc:
            if app is not None:
                app.close()  # its pool would go on reconnecting in the background
            if not store_failed(exc):
                raise
            log.warning("%s: store unavailable at start (%s); retrying", spec.name, type(exc).__name__)
            stop.wait(1.0)
    return None


def main(service: str) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {service}-worker %(levelname)s %(name)s: %(message)s")
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: every thread's stack, to the log
    settings = Settings.from_env().for_service(service)
    spec = load_spec(service)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if os.environ.get("YISHI_METRICS_PORT"):  # a worker in a pod of its own: no web beside it reports its metrics
        metrics.serve(int(os.environ["YISHI_METRICS_PORT"]))
    started = _open_store(spec, settings, stop)
    if started is None:
        return
    app, db, consumers = started
    threads = [threading.Thread(target=lead, args=(spec, app, db, settings, stop), name="leader")]
    for consumer in consumers:
        threads.append(threading.Thread(target=consumer.run, args=(stop,), name=f"consumer-{consumer.upstream}"))
    for ticker in spec.tickers:
        threads.append(threading.Thread(target=tick, args=(ticker, app, db, settings, stop),
                                        name=f"ticker-{ticker.name}"))
    for t in threads:
        t.start()
    log.info("%s worker started: follows %s", service, ", ".join(topology.upstreams(service)) or "nothing")
    while not stop.wait(0.5):
        pass
    for t in threads:
        t.join(timeout=10)
    app.close()


if __name__ == "__main__":
    main(sys.argv[1])
