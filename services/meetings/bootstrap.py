from services.meetings.application import MeetingsApplication
from services.meetings.projections import CaseDigest, MeetingIndex, ProposalIndex
from services.meetings.published import publish
from shared.checkpoints import audited
from shared.spec import ServiceSpec

SPEC = audited(ServiceSpec(name="meetings", application=MeetingsApplication, publisher=lambda app: publish,
                   projections=lambda: [MeetingIndex(), ProposalIndex(), CaseDigest()]))
