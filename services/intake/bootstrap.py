from services.intake.application import IntakeApplication
from services.intake.contacts import ReporterIndex
from services.intake.projections import IssueIndex
from services.intake.published import publish
from services.intake.reports import DemandList
from shared.ops.checkpoints import audited
from services.intake.recurring import detect
from shared.runtime.spec import ServiceSpec, Ticker

SPEC = audited(ServiceSpec(name="intake", application=IntakeApplication, publisher=lambda app: publish,
                   projections=lambda: [IssueIndex(), ReporterIndex(), DemandList()],
                   tickers=(Ticker("recurring", 60.0, lambda app, db: detect(app, db)),)))
