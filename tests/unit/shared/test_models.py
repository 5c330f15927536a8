"""A request model refuses the first thing wrong by the field's JSON path, in zh-CN and English."""
from typing import Literal

import pytest
from pydantic import Field

from shared.errors import InvalidInput
from shared.models import Body, Due, Moment, OptionalText, Text, Uuid


class Item(Body):
    case_id: Uuid = Field(title="案件编号")
    total: int = Field(ge=1, le=10, title="人数")


class Order(Body):
    title: Text[10, "标题"]
    note: OptionalText[5, "备注"] = None
    kind: Literal["a", "b"] = Field("a", title="类型")
    at: Moment["时间"] | None = None
    due: Due["完成时限"] | None = None
    items: list[Item] = Field([], max_length=2, title="明细")


def refused(payload):
    with pytest.raises(InvalidInput) as error:
        Order.parse(payload)
    return error.value.field, error.value.detail, error.value.detail_zh


@pytest.mark.parametrize("payload, field, zh", [
    ({}, "title", "标题不能为空"),
    ({"title": "   "}, "title", "标题不能为空"),
    ({"title": "x" * 11}, "title", "标题不能超过 10 个字符"),
    ({"title": "a\x00b"}, "title", "标题含有无效字符"),
    ({"title": "t", "kind": "c"}, "kind", "类型必须是 a、b 之一"),
    ({"title": "t", "at": "2026-12-01T10:00"}, "at", "时间需带时区(如 +08:00)"),
    ({"title": "t", "due": "2026-02-30"}, "due", "完成时限不是有效日期"),
    ({"title": "t", "items": [{"case_id": "nope", "total": 1}]}, "items[0].case_id", "案件编号格式不正确"),
    ({"title": "t", "items": [{"case_id": "5f0c6a2e-8d1b-4c3a-9e7f-2b6d4a1c8e90", "total": "1"}]}, "items[0].total",
     "人数须为整数"),
    ({"title": 1, "tilte": "t"}, "tilte", "不支持的字段 tilte"),  # an unknown field first: it explains the rest
    ("t", "body", "请求内容必须是 JSON 对象"),
])
def test_the_first_thing_wrong_is_named_by_its_path_in_chinese_and_english(payload, field, zh):
    named, en, chinese = refused(payload)
    assert (named, chinese) == (field, zh)
    assert en.startswith(field) or en.startswith("unknown field") or en.startswith("body")


def test_text_is_stripped_a_blank_optional_is_absent_and_times_are_utc():
    order = Order.parse({"title": " 灯坏了 ", "note": " ", "at": "2026-12-01T10:00:00+08:00", "due": "2026-12-05"})
    assert order.title == "灯坏了" and order.note is None
    assert order.at.isoformat() == "2026-12-01T02:00:00+00:00"
    assert order.due.isoformat().startswith("2026-12-05T15:59:59")  # the end of the day in Asia/Shanghai


def test_the_schema_names_the_fields_in_chinese_and_carries_the_example():
    class Example(Body):
        example = {"title": "楼道灯坏了"}
        title: Text[10, "标题"]

    schema = Example.schema()
    assert schema["properties"]["title"]["title"] == "标题" and schema["properties"]["title"]["maxLength"] == 10
    assert schema["additionalProperties"] is False and schema["examples"] == [{"title": "楼道灯坏了"}]
