"""Demand votes (需求投票): residents back an issue they share, once each. Pure rules.

Kept apart from the Issue so votes never contend with an issue's case progress. A voter is known
only by a digest of their reference (phone, WeChat id…) salted with the issue: enough to count
them once, nothing to contact them by.
"""
from __future__ import annotations

import hashlib
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("9d3f6a2e-1c4b-4e8a-b7d5-2f0e6c8a4b13")


def demand_id_for(issue_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"demand:{issue_id}")


def voter_digest(issue_id: UUID, voter: str) -> str:
    return hashlib.sha256(f"{issue_id}:{voter.strip().lower()}".encode()).hexdigest()


class DemandVotes(Aggregate):
    """The votes one issue gathered."""

    @event("Opened")
    def __init__(self, id: UUID, issue_id: str):
        self.issue_id = issue_id
        self.voters: list[str] = []
        self.moved_to: str | None = None  # the issue this one was merged into: its votes count there

    @property
    def votes(self) -> int:
        return len(self.voters)

    def vote(self, voter: str) -> bool:
        """Count a voter once; False when they had already voted."""
        digest = voter_digest(UUID(self.issue_id), voter)
        if digest in self.voters:
            return False
        self._vote(self.issue_id, digest, self.votes + 1)
        return True

    @event("Voted")
    def _vote(self, issue_id: str, voter: str, votes: int) -> None:
        self.voters.append(voter)

    def absorb(self, duplicate: "DemandVotes") -> bool:
        """A merged duplicate's votes back the issue it joined. Digests are salted per issue, so a resident
        who had backed both reports before the merge counts once for each; after it, once."""
        voters = [v for v in duplicate.voters if v not in self.voters]
        if not voters:
            return False
        self._absorbed(self.issue_id, duplicate.issue_id, voters, self.votes + len(voters))
        return True

    @event("Absorbed")
    def _absorbed(self, issue_id: str, from_issue_id: str, voters: list[str], votes: int) -> None:
        self.voters.extend(voters)

    @event("MovedTo")
    def move_to(self, into_issue_id: str) -> None:
        """Merged: later votes on this issue count for `into_issue_id` (recorded with the merge, so a vote
        racing it conflicts and is counted again, there)."""
        self.moved_to = into_issue_id
