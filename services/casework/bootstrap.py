from services.casework.application import CaseworkApplication
from services.casework.metrics import LedgerGauges
from services.casework.projections import Ledger, cases_owing_alerts
from services.casework.published import publisher
from shared.checkpoints import audited
from shared.spec import ServiceSpec, Ticker


def watch_deadlines(app: CaseworkApplication, db) -> None:
    app.watch(cases_owing_alerts(db, app.clock()))


SPEC = audited(ServiceSpec(name="casework", application=CaseworkApplication, publisher=publisher,
                   projections=lambda: [Ledger()], tickers=(Ticker("deadlines", 30.0, watch_deadlines),),
                   collectors=lambda db: [LedgerGauges(db)]))
