from services.casework.application import CaseworkApplication
from services.casework.metrics import LedgerGauges
from services.casework.projections import cases_owing_alerts, open_cases
from services.casework.published import publisher
from shared.ops.checkpoints import audited
from shared.runtime.spec import ServiceSpec, Ticker


def watch_deadlines(app: CaseworkApplication, db) -> None:
    app.watch(cases_owing_alerts(db, app.clock()))


class CalendarWatch:
    """Re-times open cases once per calendar change this process sees (and once at start): it also catches
    a case opened on the old calendar while the entry was being saved, and entries made while it was down."""

    def __init__(self) -> None:
        self.seen: int | None = None

    def __call__(self, app: CaseworkApplication, db) -> None:
        version = app.calendar_version()
        if version and version != self.seen:
            app.retime(open_cases(db))
        self.seen = version


SPEC = audited(ServiceSpec(name="casework", application=CaseworkApplication, publisher=publisher,
                           tickers=(Ticker("deadlines", 30.0, watch_deadlines),
                                    Ticker("calendar", 30.0, CalendarWatch())),
                           collectors=lambda db: [LedgerGauges(db)]))
