"""Residents in deliberation (居民参与议事): topic suggestions with co-signatures (议题征集), and opinions on an
agenda's topics while it is public (意见征集). Pure rules.

"x种方式广收议题": a resident suggests a topic; when SIGNATURES_NEEDED residents (the suggester among them)
back it, it goes before the council as a proposed topic, like a case casework escalated. While an agenda is
public — from its publication (at least 3 days before the meeting) until the meeting opens — residents give
opinions on each topic; the recorder reads the digest at the meeting, and the meeting's record keeps it.

Residents are known only by a digest of their reference (phone, WeChat id…) salted with the suggestion:
enough to count them once, nothing to contact them by. Typed text is masked before it is recorded.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.meetings.rules import RuleBroken
from shared.contracts.envelope import rfc3339
from shared.errors import NotFound

NAMESPACE = UUID("7e4d2a1c-9b3f-4c6e-8a5d-0f2b4d6e8a13")
SIGNATURES_NEEDED = 10  # co-signatures (the suggester's included) that put a suggestion before the council


def suggestion_id_for(key: str | None) -> UUID:
    """A client's Idempotency-Key always names the same suggestion."""
    return uuid5(NAMESPACE, f"suggestion:{key}") if key else uuid4()


def consultation_id_for(meeting_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"consultation:{meeting_id}")


def resident_digest(salt: UUID, resident: str) -> str:
    return hashlib.sha256(f"{salt}:{resident.strip().lower()}".encode()).hexdigest()


class TopicSuggestion(Aggregate):
    """A topic a resident suggested, gathering co-signatures until it goes before the council."""

    @event("Suggested")
    def __init__(self, id: UUID, title: str, background: str, category: str | None, suggester: str,
                 suggested_at: datetime):
        self.title, self.background, self.category = title, background, category
        self.suggested_at = suggested_at
        self.signers: list[str] = [suggester]
        self.status = "collecting"  # collecting | proposed (before the council)
        self.proposal_id: str | None = None

    @property
    def signatures(self) -> int:
        return len(self.signers)

    def sign(self, resident: str, at: datetime) -> bool:
        """Count a resident once; False when they had signed already. At the threshold, it is proposed."""
        digest = resident_digest(self.id, resident)
        if digest in self.signers:
            return False
        self._signed(digest, self.signatures + 1, at)
        return True

    @event("Signed")
    def _signed(self, signer: str, signatures: int, at: datetime) -> None:
        self.signers.append(signer)

    def reached(self) -> bool:
        return self.status == "collecting" and self.signatures >= SIGNATURES_NEEDED

    @event("PutBeforeCouncil")
    def put_before_council(self, proposal_id: str, signatures: int, at: datetime) -> None:
        self.status = "proposed"
        self.proposal_id = proposal_id


class Consultation(Aggregate):
    """The residents' opinions on one meeting's topics (意见征集), masked as they came."""

    @event("Opened")
    def __init__(self, id: UUID, meeting_id: str):
        self.meeting_id = meeting_id
        self.opinions: list[dict[str, Any]] = []

    def give(self, topics: list[dict[str, Any]], topic_id: str, text: str, agenda_published_at: datetime | None,
             meeting_at: datetime, status: str, at: datetime, key: str | None = None) -> tuple[str, bool]:
        """An opinion on a published topic, taken from the agenda's publication until the meeting opens.
        Returns (opinion id, given); the same Idempotency-Key again gives nothing more."""
        if key is not None:
            known = str(uuid5(self.id, f"key:{key}"))
            if any(o["opinion_id"] == known for o in self.opinions):
                return known, False
        if agenda_published_at is None:
            raise RuleBroken("consultation", "the agenda is not published yet", "meeting_id", "议题尚未公示,暂不征集意见")
        if status != "scheduled" or at >= meeting_at:
            raise RuleBroken("consultation", "opinions are taken until the meeting opens", "meeting_id",
                             "会议已开始,意见征集已结束")
        if topic_id not in {t["topic_id"] for t in topics}:
            raise NotFound(f"no topic {topic_id} on the agenda", "topic_id", "议程中没有该议题")
        opinion_id = str(uuid5(self.id, f"key:{key}" if key is not None else f"{len(self.opinions)}"))
        self._given(opinion_id, topic_id, text, at)
        return opinion_id, True

    @event("OpinionGiven")
    def _given(self, opinion_id: str, topic_id: str, text: str, at: datetime) -> None:
        self.opinions.append({"opinion_id": opinion_id, "topic_id": topic_id, "text": text, "at": at})



def opinion_digest(consultation: Consultation | None, topics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per topic, in agenda order: how many residents gave an opinion, and what they said (masked)."""
    opinions = consultation.opinions if consultation else []
    digest = []
    for t in topics:
        said = [{"text": o["text"], "at": rfc3339(o["at"])} for o in opinions if o["topic_id"] == t["topic_id"]]
        digest.append({"topic_id": t["topic_id"], "title": t.get("title"), "count": len(said), "opinions": said})
    return digest

