from services.meetings.application import MeetingsApplication
from services.meetings.published import publish
from shared.ops.checkpoints import audited
from shared.runtime.spec import ServiceSpec

SPEC = audited(ServiceSpec(name="meetings", application=MeetingsApplication, publisher=lambda app: publish))
