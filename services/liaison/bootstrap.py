from services.liaison.application import LiaisonApplication
from services.liaison.projections import Activities, Lists, Receptions, Register, Supervisions, Units
from services.liaison.published import publish
from shared.ops.checkpoints import audited
from shared.runtime.spec import ServiceSpec, Ticker

# Activities after Supervisions and Receptions: it reads whose supervision or reception day an event is about
SPEC = audited(ServiceSpec(name="liaison", application=LiaisonApplication, publisher=lambda app: publish,
                           projections=lambda: [Register(), Supervisions(), Receptions(), Activities(), Units(),
                                                Lists()],
                           tickers=(Ticker("projects", 60.0, lambda app, db: app.watch_projects()),)))
