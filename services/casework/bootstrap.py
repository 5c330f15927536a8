from services.casework.application import CaseworkApplication
from services.casework.projections import Ledger
from services.casework.published import publish
from shared.spec import ServiceSpec

SPEC = ServiceSpec(name="casework", application=CaseworkApplication, publish=publish,
                   projections=lambda: [Ledger()])
