"""Duplicate detection (重复诉求合并): a new report about the same problem joins the open issue already raised.

Same community, same building (when both name one), same category, an issue not yet closed and
reported within the last 30 days, and titles that read alike (`similarity` over the text without
punctuation or spaces, full-width folded). Merging two different problems would cost one of them its
case, so the bar is high: a missed duplicate costs only a second case, which staff can still merge. The first report stays the one the case is worked under;
the later one is merged into it, so the neighbours who raised it follow the same case.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

WINDOW = timedelta(days=30)
THRESHOLD = 0.75
OPEN = ("received", "open", "reopened", "resolved")


@dataclass(frozen=True)
class Candidate:
    issue_id: str
    title: str
    category: str
    location: dict[str, Any]
    reported_at: datetime
    status: str


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "S")))


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str) -> float:
    """The better of two readings: edit similarity, and how much of the shorter title's character pairs
    the other contains (Chinese has no spaces; pairs of characters approximate its words)."""
    a, b = normalise(a), normalise(b)
    if not a or not b:
        return 0.0
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    pa, pb = _bigrams(a), _bigrams(b)
    contained = len(pa & pb) / min(len(pa), len(pb)) if pa and pb else 0.0
    return max(ratio, contained)


def same_place(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("community") != b.get("community"):
        return False
    return not (a.get("building") and b.get("building")) or a["building"] == b["building"]


def same_numbers(a: str, b: str) -> bool:
    """"1号楼" and "2号楼" are different places however alike the rest reads."""
    na, nb = (set(re.findall(r"\d+", unicodedata.normalize("NFKC", t))) for t in (a, b))
    return not (na and nb) or na == nb


def find_duplicate(title: str, category: str, location: dict[str, Any], reported_at: datetime,
                   candidates: list[Candidate]) -> tuple[str, float] | None:
    """The open issue this report repeats, with its similarity; None when it is new."""
    best: tuple[str, float] | None = None
    for c in candidates:
        if c.category != category or c.status not in OPEN or not same_place(location, c.location):
            continue
        if abs(reported_at - c.reported_at) > WINDOW or not same_numbers(title, c.title):
            continue
        score = similarity(title, c.title)
        if score >= THRESHOLD and (best is None or score > best[1]):
            best = (c.issue_id, round(score, 3))
    return best
