"""casework's own metrics: deadline breaches and calendar fallbacks as they happen; the ledger at scrape time."""
from __future__ import annotations

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.casework.projections import ledger_counts

DEADLINE_BREACHES = Counter("yishi_deadline_breaches_total", "Red alerts raised: a deadline passed unmet",
                            ["tier", "deadline"])
CALENDAR_FALLBACK = Counter("yishi_calendar_fallback_total",
                            "Working-day lookups beyond the chinesecalendar package (weekends + statutory dates only)",
                            ["year"])


class LedgerGauges(Collector):
    """Cases by tier and status, open alerts, and on-time rates, read off the ledger when scraped."""

    def __init__(self, db):
        self.db = db

    def collect(self):
        cases = GaugeMetricFamily("yishi_cases", "Cases in the ledger", labels=["tier", "status"])
        alerts = GaugeMetricFamily("yishi_cases_open_alerts", "Open cases by alert level", labels=["tier", "level"])
        on_time = GaugeMetricFamily("yishi_cases_on_time_ratio", "Deadlines met on time over deadlines settled",
                                    labels=["tier"])
        counts = ledger_counts(self.db)
        for (tier, status), n in counts["cases"].items():
            cases.add_metric([tier, status], n)
        for (tier, level), n in counts["alerts"].items():
            alerts.add_metric([tier, level], n)
        for tier, ratio in counts["on_time"].items():
            on_time.add_metric([tier], ratio)
        yield from (cases, alerts, on_time)
