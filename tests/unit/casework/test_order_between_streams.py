"""A case ends the same whichever order intake's and meetings' queues hand casework its facts."""
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from services.casework.domain import case_id_for
from shared.contracts import from_cloudevent, to_cloudevent
from services.casework.application import CaseworkApplication
from shared.config import Settings
from tests.unit.casework.helpers import issue, minuted, reported

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
ORIGINAL = issue("小区路灯故障", issue_id="8a4f7c62-1d2b-4c1e-9a4f-0000000000a1")
DUPLICATE = issue("小区路灯坏了", issue_id="8a4f7c62-1d2b-4c1e-9a4f-0000000000b2")
MEETING = "8a4f7c62-1d2b-4c1e-9a4f-0000000000d4"
RESOLUTION = {"resolution_id": "r-1", "case_id": str(case_id_for(ORIGINAL["issue_id"])), "text": "更换全部路灯",
              "owner": "物业 王经理", "due": "2027-01-31T16:00:00Z"}


def merged(sequence: int):
    return from_cloudevent(to_cloudevent("intake", "IssueMerged", sequence=sequence, prevsequence=sequence - 1,
                                         subject=DUPLICATE["issue_id"], time=T0,
                                         data={"issue_id": DUPLICATE["issue_id"], "into_issue_id": ORIGINAL["issue_id"]}))


FACTS = {"original": reported(1, ORIGINAL), "duplicate": reported(2, DUPLICATE), "merge": merged(3),
         "resolution": minuted(1, MEETING, [RESOLUTION])}


def outcome(tmp_path_factory, order) -> dict:
    """What casework made of the facts: each case's status, links, plan and resolve deadline."""
    app = CaseworkApplication(Settings(None, "", tmp_path_factory.mktemp("casework")), clock=lambda: T0)  # SQLite: tracking is per sequence
    for name in order:
        app.process(FACTS[name])
    cases = {}
    for name, data in (("original", ORIGINAL), ("duplicate", DUPLICATE)):
        case = app._find(case_id_for(data["issue_id"]))
        cases[name] = case and (case.status, case.merged_into, list(case.co_reporters), case.plan, case.party,
                                case.deadlines["resolve"]["due"], case.deadlines["resolve"]["met_at"] is not None)
    app.close()
    return cases


IN_ORDER = ("original", "duplicate", "merge", "resolution")


def test_a_merge_that_reaches_casework_before_the_duplicates_case_is_applied_when_it_opens(tmp_path_factory):
    early = outcome(tmp_path_factory, ("original", "merge", "duplicate", "resolution"))
    assert early["duplicate"][:2] == ("merged", str(case_id_for(ORIGINAL["issue_id"])))
    assert early == outcome(tmp_path_factory, IN_ORDER)


def test_a_merge_and_a_resolution_that_reach_casework_before_the_original_case_wait_for_it(tmp_path_factory):
    early = outcome(tmp_path_factory, ("resolution", "duplicate", "merge", "original"))
    assert early["original"][3] == RESOLUTION["text"] and early["duplicate"][0] == "merged"
    assert early == outcome(tmp_path_factory, IN_ORDER)


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(IN_ORDER))
def test_every_interleaving_of_intake_and_meetings_gives_the_same_cases(tmp_path_factory, order):
    assert outcome(tmp_path_factory, order) == outcome(tmp_path_factory, IN_ORDER)
