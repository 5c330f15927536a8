"""Response templates (常用答复): staff's common answers per category, so a resolution or a reply is one click.

The built-in ones are a starting set; staff edit them (a template saved under a built-in id replaces it) and add
their own. Pure: the aggregate keeps what staff saved, `templates_for` merges it over the built-in set.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import InvalidInput, NotFound

KINDS = {"resolution": "办结答复", "reply": "回复居民"}
TEMPLATE_ID = re.compile(r"^[a-z0-9-]{1,64}$")

BUILT_IN: dict[str, dict[str, str]] = {
    "facility-repaired": {"category": "设施维护", "kind": "resolution",
                          "text": "您反映的设施问题已维修完毕,经现场查看已恢复正常使用。如仍有问题,请在进度查询中反馈。"},
    "property-handled": {"category": "物业管理", "kind": "resolution",
                         "text": "已督促物业服务企业按服务合同整改到位,后续将持续跟踪。"},
    "sanitation-cleared": {"category": "环境卫生", "kind": "resolution",
                           "text": "已安排环卫人员清理完毕,并将该点位纳入日常巡查。"},
    "hazard-removed": {"category": "安全隐患", "kind": "resolution",
                       "text": "安全隐患已现场排除,社区应急小组将于近期复查。"},
    "dispute-mediated": {"category": "邻里纠纷", "kind": "resolution",
                         "text": "经议事会调解小组上门调解,双方已达成一致意见。"},
    "parking-referred": {"category": "停车交通", "kind": "reply",
                         "text": "您反映的停车问题涉及多个部门,已提交专班研究,方案形成后将在公告栏公示。"},
    "service-arranged": {"category": "服务供给", "kind": "resolution",
                         "text": "社区服务站已与您联系并安排相关服务。"},
    "received-working": {"category": "其他", "kind": "reply",
                         "text": "您的诉求已收到,责任单位正在办理,办理进展可随时通过查询码查看。"},
}


class ResponseTemplates(Aggregate):
    """Staff's saved templates (one per community system); retired built-in ids stay retired."""

    @event("Started")
    def __init__(self, id: Any):
        self.saved: dict[str, dict[str, Any]] = {}
        self.retired: list[str] = []

    @event("TemplateSaved")
    def save_template(self, template_id: str, category: str, kind: str, text: str, actor: dict, at: datetime) -> None:
        self.saved[template_id] = {"category": category, "kind": kind, "text": text, "by": dict(actor), "at": at}
        if template_id in self.retired:
            self.retired.remove(template_id)

    @event("TemplateRetired")
    def retire(self, template_id: str, actor: dict, at: datetime) -> None:
        self.saved.pop(template_id, None)
        self.retired.append(template_id)


def templates_for(saved: ResponseTemplates | None) -> dict[str, dict[str, Any]]:
    """Every template in use: built-in ones not retired nor replaced, then staff's."""
    retired = set(saved.retired) if saved else set()
    merged = {tid: dict(t, source="built-in") for tid, t in BUILT_IN.items() if tid not in retired}
    for tid, t in (saved.saved if saved else {}).items():
        merged[tid] = {"category": t["category"], "kind": t["kind"], "text": t["text"], "source": "staff"}
    return merged


def template_text(saved: ResponseTemplates | None, template_id: str) -> str:
    found = templates_for(saved).get(template_id)
    if found is None:
        raise NotFound(f"no response template {template_id}", "template_id", "未找到该答复模板")
    return found["text"]


def parse_template_id(template_id: str) -> str:
    if not TEMPLATE_ID.match(template_id):
        raise InvalidInput("template id must be 1 to 64 lower-case letters, digits or '-'", "template_id",
                           "模板编号须为 1 到 64 个小写字母、数字或连字符")
    return template_id


def templates_id(namespace: Any) -> Any:
    return uuid5(namespace, "response-templates")
