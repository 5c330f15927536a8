"""The public board of a community (公示栏): notices, the month's results and demand list, and what is overdue
with who is responsible. Each part is read from the service that owns it; a part that does not answer is
shown as unavailable, the rest of the board still is."""
from __future__ import annotations

from typing import Any

from services.portal.fresh import PUBLIC_SECONDS
from services.portal.upstream import Upstreams

OVERDUE_LIMIT = 200  # the ledger's overdue rows read per page view, newest first


def sections(up: Upstreams, lang: str, community: str | None, month: str) -> dict[str, Any]:
    """The board's reads, by section name: each a zero-argument call, run side by side by the caller."""
    where = {"community": community} if community else {}
    return {
        "notices": lambda: up.notifications.get("/notices", lang, {"lang": lang, "limit": 20, **where},
                                                fresh_for=PUBLIC_SECONDS)["notices"],
        "overdue": lambda: up.casework.get("/cases", lang, {"overdue": "true", "limit": OVERDUE_LIMIT, **where},
                                           fresh_for=PUBLIC_SECONDS)["cases"],
        "results": lambda: up.meetings.get("/reports/results", lang, {"month": month}, fresh_for=PUBLIC_SECONDS),
        "demand": lambda: up.intake.get("/reports/demand-list", lang, {"month": month}, fresh_for=PUBLIC_SECONDS),
    }


def in_community(rows: list[dict[str, Any]], community: str | None) -> list[dict[str, Any]]:
    return [r for r in rows if not community or r.get("community") == community]


def overdue_rows(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each overdue case (of the community: casework filtered them) with the deadline it missed: the ledger's
    title is masked by intake already."""
    rows = []
    for case in cases:
        missed = [(kind, d["due"]) for kind, d in (case.get("deadlines") or {}).items() if d.get("overdue")]
        kind, due = min(missed, key=lambda m: m[1]) if missed else (None, None)
        rows.append({"title": case.get("title"), "category": case.get("category"), "tier": case.get("tier"),
                     "community": case.get("community"), "building": case.get("building"),
                     "party": case.get("party"), "deadline": kind, "due": due})
    return rows


def demand_rows(demand: dict[str, Any], community: str | None,
                backed: tuple[str, int] | None = None) -> list[dict[str, Any]]:
    """The month's needs, most backed first; `backed`: a need just backed and its count (the list may lag)."""
    rows = [dict(r) for r in in_community(demand.get("items", []), community)]
    for row in rows:
        if backed and row.get("issue_id") == backed[0]:
            row["votes"] = max(row.get("votes") or 0, backed[1])
    return sorted(rows, key=lambda r: -(r.get("votes") or 0))


def communities(parts: dict[str, Any]) -> list[str]:
    """The communities the board has heard of, for the picker."""
    seen = {n.get("community") for n in parts.get("notices") or []}
    seen |= {c.get("community") for c in parts.get("overdue") or []}
    seen |= {i.get("community") for i in (parts.get("demand") or {}).get("items", [])}
    return sorted(c for c in seen if c)
