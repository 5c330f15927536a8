from services.intake.application import IntakeApplication
from services.intake.projections import IssueIndex
from services.intake.published import publish
from shared.spec import ServiceSpec

SPEC = ServiceSpec(name="intake", application=IntakeApplication, publish=publish,
                   projections=lambda: [IssueIndex()])
