from services.intake.application import IntakeApplication
from services.intake.published import publish
from shared.ops.checkpoints import audited
from services.intake.erasure import shred_expired
from services.intake.recurring import detect
from services.intake.sealing import STEP, seal_contacts
from shared.runtime.spec import ServiceSpec, Ticker

SPEC = audited(ServiceSpec(name="intake", application=IntakeApplication, publisher=lambda app: publish,
                   tickers=(Ticker("contact-retention", 3600.0, shred_expired),
                            Ticker("recurring", 60.0, lambda app, db: detect(app, db))),
                   migrations={STEP: seal_contacts}))
