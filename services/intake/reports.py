"""Demand votes (需求投票) and the monthly demand list (数字需求清单): last month's issues by category,
channel and building, with their votes, due by the 5th. A projection of intake's own log."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.intake.demand import DemandVotes, demand_id_for
from services.intake.domain import Issue, public_text
from services.intake.requests import Vote
from shared.contracts.envelope import rfc3339
from shared.deadlines import is_month, local_month, previous_month
from shared.errors import InvalidInput, NotFound
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection

CHANNEL_NAMES = {"visit": ("走访", "visit"), "online": ("线上", "online"), "hotline": ("热线", "hotline"),
                 "survey": ("调研", "survey"), "open311": ("Open311", "Open311"), "device": ("物联网设备", "device"),
                 "reception": ("代表接待日", "reception day")}


def vote_for_issue(app: Any, issue_id: str, payload: Any) -> tuple[int, bool]:
    """A resident backs an issue: {voter}. Returns (votes, counted); a voter counts once per issue."""
    voter = Vote.parse(payload).voter
    issue = app.get_issue(issue_id)  # NotFound when there is no such issue
    if not isinstance(issue, Issue):
        raise NotFound(f"no issue {issue_id}", "issue_id", "未找到该诉求")
    target = issue.merged_into or str(issue.id)  # a duplicate's votes count for the issue it joined
    for attempt in range(5):
        demand = _demand(app, UUID(target))
        if demand.moved_to:  # merged since we looked (or a chain of merges): follow it
            target = demand.moved_to
            continue
        counted = demand.vote(voter)
        if not counted:
            return demand.votes, False
        try:
            app.save(demand)
            return demand.votes, True
        except IntegrityError:  # another vote, or a merge, on the same issue won the race: count again
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def votes_follow_merge(app: Any, issue_id: UUID, into_id: UUID) -> list[DemandVotes]:
    """The aggregates to save with a staff merge: the duplicate marked moved, its votes on the original."""
    duplicate, original = _demand(app, issue_id), _demand(app, into_id)
    duplicate.move_to(str(into_id))
    return [duplicate, original] if original.absorb(duplicate) else [duplicate]


def _demand(app: Any, issue_id: UUID) -> DemandVotes:
    try:
        return app.repository.get(demand_id_for(issue_id))
    except AggregateNotFoundError:
        return DemandVotes(id=demand_id_for(issue_id), issue_id=str(issue_id))


class DemandList(Projection):
    """One row per issue: month reported (Asia/Shanghai), category, channel, building and votes."""

    name = "demand_list"
    version = 4  # 2: merged duplicates leave the list, their votes counted on the issue they joined; 3: titles
    # masked as every public text of a report is (the reporter's name and room too, not only phone numbers);
    # 4: and by the one public rule (shared/masking.py: exact addresses, names where a person is addressed)

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS demand_list (issue_id TEXT PRIMARY KEY, month TEXT NOT NULL, "
               "category TEXT NOT NULL, channel TEXT NOT NULL, community TEXT NOT NULL, building TEXT, "
               "title TEXT NOT NULL, reported_at TEXT NOT NULL, votes INTEGER NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS demand_list_month ON demand_list (month, votes)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS demand_list")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, Issue.Reported):
            location = event.report["location"]
            tx.run("INSERT INTO demand_list (issue_id, month, category, channel, community, building, title, "
                   "reported_at, votes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (issue_id) DO NOTHING",
                   (str(event.originator_id), local_month(event.reported_at),
                    event.category, event.report["channel"], location["community"], location.get("building"),
                    public_text(event.report["title"], event.report), rfc3339(event.reported_at)))
        elif isinstance(event, (DemandVotes.Voted, DemandVotes.Absorbed)):
            tx.run("UPDATE demand_list SET votes = ? WHERE issue_id = ?", (event.votes, event.issue_id))
        elif isinstance(event, Issue.Merged):  # one demand, one line: the duplicate's votes moved with it
            tx.run("DELETE FROM demand_list WHERE issue_id = ?", (str(event.originator_id),))


# open data: the issues of the list without their titles (typed by residents) or anything finer than the building
OPEN_COLUMNS = ("issue_id", "category", "channel", "community", "building", "reported_at", "votes")


def demand_list(db: Database, month: str) -> dict[str, Any]:
    rows = db.query("SELECT issue_id, category, channel, community, building, title, reported_at, votes "
                    "FROM demand_list WHERE month = ? ORDER BY votes DESC, reported_at, issue_id", (month,))
    issues = [dict(zip(("issue_id", "category", "channel", "community", "building", "title", "reported_at", "votes"),
                       r)) for r in rows]

    def group(key) -> list[dict[str, Any]]:
        totals: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        for i in issues:
            totals[key(i)][0] += 1
            totals[key(i)][1] += i["votes"]
        return sorted(({"issues": n, "votes": v, "key": k} for k, (n, v) in totals.items()),
                      key=lambda g: (-g["votes"], -g["issues"], str(g["key"])))

    return {
        "month": month, "issues": len(issues), "votes": sum(i["votes"] for i in issues),
        "by_category": [{"category": g.pop("key"), **g} for g in group(lambda i: i["category"])],
        "by_channel": [{"channel": g.pop("key"), **g} for g in group(lambda i: i["channel"])],
        "by_building": [{"community": g["key"][0], "building": g["key"][1], "issues": g["issues"], "votes": g["votes"]}
                        for g in group(lambda i: (i["community"], i["building"] or ""))],
        "items": issues,
    }


def document(report: dict[str, Any], lang: str) -> list[tuple]:
    zh = lang == "zh"
    year, mon = report["month"].split("-")

    def where(g: dict[str, Any]) -> str:
        return f"{g['community']} {g['building'] + ('号楼' if zh else '') if g['building'] else ''}".strip()

    return [
        ("h1", f"{year}年{int(mon)}月数字需求清单" if zh else f"Demand list, {report['month']}"),
        ("p", f"共 {report['issues']} 件诉求,需求投票 {report['votes']} 票。" if zh
         else f"{report['issues']} issues, {report['votes']} demand votes."),
        ("h2", "一、按问题分类" if zh else "1. By category"),
        ("table", ["分类", "件数", "票数"] if zh else ["Category", "Issues", "Votes"],
         [[g["category"], g["issues"], g["votes"]] for g in report["by_category"]]),
        ("h2", "二、按反映渠道" if zh else "2. By channel"),
        ("table", ["渠道", "件数", "票数"] if zh else ["Channel", "Issues", "Votes"],
         [[CHANNEL_NAMES.get(g["channel"], (g["channel"],) * 2)[0 if zh else 1], g["issues"], g["votes"]]
          for g in report["by_channel"]]),
        ("h2", "三、按楼栋" if zh else "3. By building"),
        ("table", ["位置", "件数", "票数"] if zh else ["Where", "Issues", "Votes"],
         [[where(g), g["issues"], g["votes"]] for g in report["by_building"]]),
        ("h2", "四、诉求明细(按票数)" if zh else "4. Issues, most votes first"),
        ("table", ["诉求", "分类", "渠道", "位置", "票数"] if zh else ["Issue", "Category", "Channel", "Where", "Votes"],
         [[i["title"], i["category"], CHANNEL_NAMES.get(i["channel"], (i["channel"],) * 2)[0 if zh else 1],
           where(i), i["votes"]] for i in report["items"]]),
    ]


def check_month(value: str | None, now: datetime) -> str:
    """?month=YYYY-MM, by default the previous month (the list due by the 5th)."""
    if value is None:
        return previous_month(now)
    if not is_month(value):
        raise InvalidInput("month must be YYYY-MM", "month", "月份格式应为 YYYY-MM")
    return value

