"""Idempotency-Key, one rule for every command that takes one: the first request is applied (201 when it
creates), the same request again applies nothing and answers the first result (200), the same key with another
body is a 409. Pure: the domain and the edge (shared/edge/http.py `idempotency_key`, `created`) both use it."""
from __future__ import annotations

from shared.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
LONGEST = 200


def checked_key(value: str | None) -> str | None:
    """The header's value, refused by name when empty or longer than 200 characters."""
    if value is not None and not 1 <= len(value) <= LONGEST:
        raise InvalidInput(f"{HEADER} must be 1 to {LONGEST} characters", HEADER,
                           f"{HEADER} 长度须为 1 到 {LONGEST} 个字符")
    return value


WHAT_ZH = {"command": "条不同的指令", "subscription": "项不同的订阅", "report": "条不同的诉求"}


def conflict(what: str = "command") -> Conflict:
    """The 409 of a key that came with another request."""
    return Conflict(f"this {HEADER} was used for a different {what}", HEADER, f"该 {HEADER} 已用于另一{WHAT_ZH[what]}")


def replayed(seen: str | None, digest: str, what: str = "command") -> bool:
    """True when the key was seen with this request's `digest` (a retry); a 409 when it came with another."""
    if seen is None:
        return False
    if seen != digest:
        raise conflict(what)
    return True
