from datetime import datetime, timedelta, timezone

import pytest

from services.intake.domain import OTHER, tag
from services.intake.requests import parse_report
from shared.errors import InvalidInput

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
GOOD = {"channel": "online", "title": "3号楼楼道灯坏了", "description": "晚上一片黑",
        "location": {"community": "幸福里", "building": "3", "room": "502"},
        "reporter": {"name": "张三", "phone": "13812345678"}}


@pytest.mark.parametrize("change, field", [
    ({"channel": "fax"}, "channel"),
    ({"title": ""}, "title"),
    ({"title": "x" * 101}, "title"),
    ({"description": 42}, "description"),
    ({"category": "天气"}, "category"),
    ({"location": None}, "location"),
    ({"location": {"building": "3"}}, "location.community"),
    ({"location": {"community": "幸福里", "lat": 200}}, "location.lat"),
    ({"location": {"community": "幸福里", "lat": 39.9}}, "location.lon"),  # half a point places nothing
    ({"location": {"community": "幸福里", "lon": 116.4}}, "location.lat"),
    ({"location": {"community": "幸福里", "lat": "39.9", "lon": 116.4}}, "location.lat"),
    ({"reporter": {}}, "reporter"),
    ({"reporter": {"phone": "call me"}}, "reporter.phone"),
    ({"reported_at": "yesterday"}, "reported_at"),
    ({"reported_at": "2026-11-23T10:00:00"}, "reported_at"),
    ({"reported_at": (NOW + timedelta(hours=1)).isoformat()}, "reported_at"),
    ({"reported_at": "0001-01-01T00:00:00+01:00"}, "reported_at"),
    ({"title": "\ud800"}, "title"),
    ({"description": "a\x00b"}, "description"),
    ({"priority": "high"}, "priority"),  # unknown fields are refused by name, top level and nested
    ({"location": {"community": "幸福里", "floor": "5"}}, "location.floor"),
    ({"reporter": {"name": "张三", "idcard": "110101199003071234"}}, "reporter.idcard"),
])
def test_bad_report_is_refused_naming_the_field(change, field):
    with pytest.raises(InvalidInput) as err:
        parse_report({**GOOD, **change}, NOW)
    assert err.value.field == field


def test_body_must_be_an_object():
    with pytest.raises(InvalidInput) as err:
        parse_report(["not", "an", "object"], NOW)
    assert err.value.field == "body"


def test_visit_recorded_later_keeps_its_own_report_time_in_utc():
    report = parse_report({**GOOD, "channel": "visit", "reported_at": "2026-11-22T19:30:00+08:00"}, NOW)
    assert report.reported_at == datetime(2026, 11, 22, 11, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, category", [
    ("消防通道堵塞,电动车乱停", "安全隐患"),
    ("楼道灯坏了", "设施维护"),
    ("垃圾堆放发出异味", "环境卫生"),
    ("小区停车难,车位不够", "停车交通"),
    ("希望开设老年助餐服务", "服务供给"),
    ("今天天气不错", OTHER),
])
def test_report_text_is_tagged_with_a_category(text, category):
    assert tag(text)[0] == category


def test_same_report_has_the_same_fingerprint_and_a_changed_one_does_not():
    a, b = parse_report(GOOD, NOW), parse_report(dict(GOOD), NOW)
    assert a.fingerprint() == b.fingerprint()
    assert parse_report({**GOOD, "title": "别的事"}, NOW).fingerprint() != a.fingerprint()


def test_a_blocked_drain_is_a_repair_and_a_blocked_fire_exit_a_hazard():
    assert tag("5号楼下水道堵塞")[0] == "设施维护"
    assert tag("消防通道堵塞,电动车乱停")[0] == "安全隐患"
