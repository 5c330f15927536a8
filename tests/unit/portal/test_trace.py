"""The unbroken trace on the progress page: each step of a case through the council, linked to the page that
records it, in Chinese first and English on request; and the public pages the links open."""
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.portal import trace, track
from services.portal.i18n import Words
from services.portal.pages import render
from services.portal.staff_words import KIND

CASE_ID = "0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a01"
MEETING = "5b1d0c1e-0000-4000-8000-000000000001"
STEPS = [
    {"kind": "topic", "meeting_id": MEETING, "topic_id": "t1", "title": "3号院停车难", "meeting_kind": "assembly",
     "meeting_at": "2026-11-05T06:00:00Z", "published_at": "2026-11-02T01:00:00Z"},
    {"kind": "vote", "meeting_id": MEETING, "motion_id": "m1", "topic_id": "t1", "text": "同意错时共享车位方案",
     "mode": "secret", "for": 4, "against": 0, "abstain": 1, "carried": True, "meeting_at": "2026-11-05T06:00:00Z"},
    {"kind": "resolution", "meeting_id": MEETING, "resolution_id": f"{MEETING}-r1", "text": "签订错时共享协议",
     "owner": "社区居委会", "due": "2027-01-31T15:59:59Z", "minuted_at": "2026-11-05T09:00:00Z"},
    {"kind": "release", "month": "2026-11", "list": "unresolved", "released_at": "2026-11-25T01:00:00Z"},
]
PROGRESS = {
    "tracking_code": "YS-1", "issue_id": "i1", "title": "3号院停车难", "status": "open",
    "reported_at": "2026-11-02T00:30:00Z", "case": {"case_id": CASE_ID, "tier": "complex"},
    "timeline": [{"status": "received", "at": "2026-11-02T00:30:00Z"},
                 {"status": "open", "at": "2026-11-05T09:01:00Z", "step": "PlanProposed", "step_zh": "已提出解决方案",
                  "plan": "签订错时共享协议", "owner": "社区居委会", "due": {"resolve_by": "2027-01-31T15:59:59Z"}}],
}


def stages(chain):
    return {s["stage"]: s["entries"] for s in chain}


def test_a_case_before_the_council_is_traced_from_report_to_release_with_each_step_linked():
    chain = trace.chain(PROGRESS, STEPS, Words("zh-CN"))
    assert [s["stage"] for s in chain] == list(trace.STAGES)
    got = stages(chain)
    assert got["topic"][0]["href"] == f"/meetings/{MEETING}#topic-t1"
    assert got["topic"][0]["text"] == "居民代表大会 · 3号院停车难" and got["topic"][0]["at"] == "2026-11-05 14:00"
    assert got["vote"][0]["href"] == f"/meetings/{MEETING}#motion-m1"
    assert got["vote"][0]["text"] == "同意错时共享车位方案 赞成 4、反对 0、弃权 1,通过"
    assert got["resolution"][0] == {"text": "签订错时共享协议", "owner": "社区居委会", "due": "2027-01-31 23:59",
                                         "at": "2026-11-05 17:00", "href": f"/meetings/{MEETING}#minutes"}
    assert got["plan"][0]["due"] == "2027-01-31 23:59" and "href" not in got["plan"][0]
    assert got["resolved"] == [] and got["confirmation"] == []  # not yet: shown as such
    assert got["release"][0]["href"] == f"/results?month=2026-11#case-{CASE_ID}"
    assert got["release"][0]["text"] == "2026-11 议事成果:列入“未解决”"


def test_in_english_the_trace_reads_in_english():
    got = stages(trace.chain(PROGRESS, STEPS, Words("en")))
    assert got["vote"][0]["text"] == "同意错时共享车位方案 4 for, 0 against, 1 abstaining: carried"
    assert got["release"][0]["text"] == "Results of 2026-11: listed as “Not yet resolved”"
    assert got["topic"][0]["text"].startswith("residents' representatives' assembly")


def test_a_case_the_council_never_took_up_has_no_council_stages_and_no_steps_no_trace():
    release_only = [STEPS[-1]]
    assert [s["stage"] for s in trace.chain(PROGRESS, release_only, Words("zh-CN"))] == [
        "report", "plan", "resolved", "confirmation", "release"]
    assert trace.chain(PROGRESS, [], Words("zh-CN")) == []


def test_the_residents_own_answer_shows_its_score_and_a_cancelled_meeting_says_so():
    answered = PROGRESS | {"timeline": [*PROGRESS["timeline"], {
        "status": "resolved", "at": "2026-12-01T02:00:00Z", "step": "ResidentConfirmed", "step_zh": "您已反馈",
        "confirmed": True, "satisfaction": 5}]}
    cancelled = [STEPS[0] | {"cancelled": True}]
    got = stages(trace.chain(answered, cancelled, Words("zh-CN")))
    assert got["confirmation"][0]["text"] == "您已反馈:已解决 · 满意度 5"
    assert got["topic"][0]["text"].endswith("(会议已取消)")


def request(path="/track", query=""):
    return Request(EnvironBuilder(path=path, method="GET", query_string=query).get_environ())


def rendered(issue_trace, query=""):
    issue = track.view(PROGRESS, Words("zh-CN")) | {"photos": [], "trace": issue_trace}
    return render(request(query=query), "track.html", code="YS-1", errors={}, issue=issue).get_data(as_text=True)


def test_the_progress_page_shows_the_trace_as_links_and_the_steps_not_yet_taken():
    html = rendered(trace.chain(PROGRESS, STEPS, Words("zh-CN")))
    assert 'id="trace"' in html and "议事全程" in html
    assert f'<a href="/meetings/{MEETING}#motion-m1">' in html
    assert f'<a href="/results?month=2026-11#case-{CASE_ID}">' in html
    assert html.count("尚未进行") == 2  # resolved, confirmation


def test_the_progress_page_says_when_the_councils_record_cannot_be_read_and_shows_nothing_without_one():
    assert "议事记录暂时无法获取" in rendered(None)
    assert 'id="trace"' not in rendered([])


def test_the_public_meeting_page_anchors_each_topic_vote_and_the_minutes():
    meeting = {"meeting_id": MEETING, "kind": "assembly", "title": "居民代表大会", "place": "社区会议室",
               "meeting_at": "2026-11-05T06:00:00Z", "status": "minuted", "cancelled": None,
               "topics": [{"topic_id": "t1", "title": "3号院停车难", "background": "车位不足", "draft_plan": "错时共享",
                           "case_id": CASE_ID}],
               "motions": [{"motion_id": "m1", "text": "同意错时共享车位方案", "topic_id": "t1", "mode": "secret",
                            "result": {"for": 4, "against": 0, "abstain": 1, "carried": True}}],
               "minutes": {"minuted_at": "2026-11-05T09:00:00Z", "late": False, "summary": "通过", "disagreements": [],
                           "resolutions": [{"resolution_id": "r1", "text": "签订错时共享协议", "owner": "社区居委会",
                                            "due": "2027-01-31T15:59:59Z"}]}}
    html = render(request(f"/meetings/{MEETING}", "lang=en"), "meeting_public.html", meeting=meeting,
                  kinds=KIND).get_data(as_text=True)
    for anchor in ('id="topic-t1"', 'id="motion-m1"', 'id="minutes"', 'id="resolution-r1"'):
        assert anchor in html
    assert "4 for, 0 against, 1 abstaining: carried" in html and 'lang="en"' in html


def test_the_public_results_page_anchors_each_case():
    results = {"month": "2026-11", "released": True, "released_at": "2026-11-25T01:00:00Z",
               "counts": {"resolved": 0, "unresolved": 1},
               "resolved": [], "unresolved": [{"case_id": CASE_ID, "title": "3号院停车难", "reasons": []}]}
    html = render(request("/results"), "results.html", month="2026-11", results=results).get_data(as_text=True)
    assert f'id="case-{CASE_ID}"' in html and "2026-11 议事成果" in html and "发布于 2026-11-25 09:00" in html
