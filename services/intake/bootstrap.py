from services.intake.application import IntakeApplication
from services.intake.published import publish
from shared.spec import ServiceSpec

SPEC = ServiceSpec(name="intake", application=IntakeApplication, publish=publish)
