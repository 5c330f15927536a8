"""Bearer tokens for tests, from the embedded provider whose key every process of the test session shares
(tests/conftest.py points YISHI_IDENTITY_DIR at one directory)."""
from __future__ import annotations

import functools

from shared.edge.signing import issue_token


@functools.lru_cache(maxsize=None)
def token(role: str, name: str = "测试人员", community: str | None = None, party: str | None = None) -> str:
    return issue_token(role, name, community, party=party)


def staff(role: str, name: str = "测试人员", community: str | None = None, party: str | None = None) -> dict[str, str]:
    """Headers of a signed-in staff member: `requests.post(url, json=body, headers=staff("secretary", "王书记"))`."""
    return {"Authorization": f"Bearer {token(role, name, community, party)}"}

