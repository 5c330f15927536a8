from services.meetings.application import MeetingsApplication
from services.meetings.projections import CaseSteps, MeetingIndex, ProposalIndex, SuggestionIndex
from services.meetings.published import publish
from services.meetings.trace import CaseTrace
from shared.ops.checkpoints import audited
from shared.runtime.spec import ServiceSpec

SPEC = audited(ServiceSpec(name="meetings", application=MeetingsApplication, publisher=lambda app: publish,
                   projections=lambda: [MeetingIndex(), ProposalIndex(), CaseSteps(), SuggestionIndex(),
                                        CaseTrace()]))
