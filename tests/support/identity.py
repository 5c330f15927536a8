"""Bearer tokens for tests, from the embedded provider whose key every process of the test session shares
(tests/conftest.py points YISHI_IDENTITY_DIR at one directory)."""
from __future__ import annotations

import functools
from typing import Any

import requests

from shared.edge.signing import issue_token


@functools.lru_cache(maxsize=None)
def token(role: str, name: str = "测试人员", community: str | None = None, party: str | None = None) -> str:
    """`role` may name several, comma-separated."""
    return issue_token(role.split(","), name, community, party=party)


def staff(role: str, name: str = "测试人员", community: str | None = None, party: str | None = None) -> dict[str, str]:
    """Headers of a signed-in staff member: `requests.post(url, json=body, headers=staff("secretary", "王书记"))`."""
    return {"Authorization": f"Bearer {token(role, name, community, party)}"}



class SignedIn:
    """`requests` as a signed-in caller: `SignedIn("secretary").get(url, ...)` sends their token (a fresh
    connection each call, like `requests.get`, so a restarted process is never reached on a stale one)."""

    def __init__(self, *roles: str, name: str = "测试人员"):
        self.roles, self.name = roles, name

    @property
    def headers(self) -> dict[str, str]:  # signed on first use, after tests/conftest.py chose the session's key
        return staff(",".join(self.roles), self.name)

    def request(self, method: str, url: str, headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
        return requests.request(method, url, headers=self.headers | (headers or {}), **kw)

    def get(self, url: str, **kw: Any) -> requests.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> requests.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> requests.Response:
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", url, **kw)


def acting(actor: dict[str, str]) -> dict[str, str]:
    """Headers of the staff member an old-style `actor: {role, name}` named."""
    return staff(actor["role"], actor["name"])


# a test staff member in every role (secretary first: the role a request acts in is the first its policy allows)
http = SignedIn("secretary", "community_worker", "operator", "city_system", "council_member", "property",
                "emergency_team", "sanitation", "department", "task_force", "resident_representative")
