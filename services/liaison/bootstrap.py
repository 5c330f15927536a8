from services.liaison.application import LiaisonApplication
from services.liaison.published import publish
from shared.ops.checkpoints import audited
from shared.runtime.spec import ServiceSpec, Ticker

SPEC = audited(ServiceSpec(name="liaison", application=LiaisonApplication, publisher=lambda app: publish,
                           tickers=(Ticker("projects", 60.0, lambda app, db: app.watch_projects()),)))
