"""Prometheus metrics of every Yishi process (README, Operating and monitoring). Label sets are small and fixed.

Web and worker processes of a service share PROMETHEUS_MULTIPROC_DIR, so the web process's
`/metrics` reports both.
"""
from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

EVENTS_PUBLISHED = Counter("yishi_events_published_total", "Integration events confirmed by the broker",
                           ["service", "type"])
EVENTS_CONSUMED = Counter("yishi_events_consumed_total",
                          "Upstream events handled (outcome: applied|duplicate|dead_lettered|retried)",
                          ["service", "upstream", "type", "outcome"])
HANDLER_SECONDS = Histogram("yishi_handler_duration_seconds", "Time to apply one upstream event",
                            ["service", "upstream", "type"])
DEAD_LETTERS = Counter("yishi_dead_letters_total", "Messages moved to a dead-letter queue", ["service", "queue"])
CONSUMER_GAPS = Counter("yishi_consumer_gaps_total", "Upstream events whose predecessor was never applied",
                        ["service", "upstream"])
CONSUMER_LAG = Gauge("yishi_consumer_lag_messages", "Messages waiting in a consumer queue",
                     ["service", "queue"], multiprocess_mode="livemax")
DEAD_LETTERS_WAITING = Gauge("yishi_dead_letter_queue_messages", "Messages waiting in a dead-letter queue",
                             ["service", "queue"], multiprocess_mode="livemax")
CONSUMER_HELD = Gauge("yishi_consumer_held_messages", "Messages held unacked, waiting for their predecessor",
                      ["service", "queue"], multiprocess_mode="livemax")
CONSUMER_CONNECTED = Gauge("yishi_consumer_connected", "1 while a consumer has an open channel on its queue",
                           ["service", "queue"], multiprocess_mode="livemax")
POOL_EXHAUSTED = Counter("yishi_pool_exhausted_total", "Callers that waited in vain for a pooled store connection",
                         ["service"])
RELAY_POSITION = Gauge("yishi_relay_position", "Last notification id the relay saw confirmed",
                       ["service"], multiprocess_mode="livemax")
AUTHORIZATION_DECISIONS = Counter("yishi_authorization_decisions_total",
                                  "Access decisions (outcome: allowed|denied|unauthenticated|undeclared)",
                                  ["service", "outcome"])
HTTP_SECONDS = Histogram("yishi_http_request_duration_seconds", "HTTP request latency",
                         ["service", "method", "route", "status"])


def exposition(accept: str | None, *extra: Collector) -> tuple[bytes, str]:
    """Body and content type for GET /metrics, this process plus its siblings when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Everything())
    for collector in extra:
        registry.register(collector)
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def serve(port: int) -> Any:
    """GET /metrics on `port` for a process without an HTTP edge (a worker in a pod of its own: Kubernetes,
    YISHI_METRICS_PORT): this process and its siblings in PROMETHEUS_MULTIPROC_DIR. No token, unlike the web's
    /metrics (the labels carry no personal data): keep the port inside the cluster (deploy/k8s: a NetworkPolicy
    lets only the monitoring namespace in). Returns the server (`shutdown()` stops it)."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Everything())
    server, _ = start_http_server(port, registry=registry)
    return server


class _Everything(Collector):
    def collect(self):
        return REGISTRY.collect()


