"""Who may call what: every HTTP operation declares its policy in its route (shared/edge/http.py `route`);
undeclared means refused.

    allow("community_worker", "secretary")       staff in one of these roles (Bearer token)
    allow_per("command", {"plan": (...), ...})   roles chosen by a path parameter (one route, many commands)
    public("public read")                        open to anyone; the reason says why (a tracking code, a ballot…)

The decision is logged (who, what, allowed; never the token) and counted in
`yishi_authorization_decisions_total`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request

from shared import metrics
from shared.edge.identity import InvalidToken, Staff, verifier
from shared.errors import DomainError, InvalidInput

log = logging.getLogger("yishi.access")

ROLES = {  # 角色
    "community_worker": "社区工作者", "secretary": "社区书记", "council_member": "议事会成员",
    "emergency_team": "社区应急小组", "property": "物业", "sanitation": "环卫", "department": "职能部门",
    "task_force": "专班", "resident_representative": "居民代表", "operator": "运维人员",
    "city_system": "城市系统",
}
STAFF = tuple(r for r in ROLES if r not in ("operator", "city_system"))  # people who read cases
STAFF_KEY = "yishi.staff"


class Unauthenticated(DomainError):
    status = 401
    title = "Unauthorized"
    title_zh = "未登录"
    headers = {"WWW-Authenticate": 'Bearer realm="yishi"'}


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    title_zh = "无权操作"


@dataclass(frozen=True)
class Policy:
    roles: tuple[str, ...] = ()  # empty with `public`: anyone
    public: str | None = None  # why the operation is open
    per: str | None = None  # a path parameter whose value picks the roles from `table`
    table: Mapping[str, tuple[str, ...]] | None = None

    def roles_for(self, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
        if self.per is None or self.table is None:
            return self.roles
        chosen = self.table.get(str(kwargs.get(self.per)))
        return chosen if chosen is not None else tuple(sorted({r for rs in self.table.values() for r in rs}))

    def all_roles(self) -> tuple[str, ...]:
        return self.roles_for({}) if self.per else self.roles


def _declare(policy: Policy) -> Policy:
    unknown = set(policy.all_roles()) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return policy


def allow(*roles: str) -> Policy:
    return _declare(Policy(roles=roles))


def allow_per(parameter: str, table: Mapping[str, tuple[str, ...]]) -> Policy:
    return _declare(Policy(per=parameter, table=table))


def public(reason: str) -> Policy:
    return _declare(Policy(public=reason))


def policy_of(fn: Callable) -> Policy | None:
    """The policy a route declared (None: not a route, or none declared)."""
    declared = getattr(fn, "yishi_route", None)
    return declared.policy if declared is not None else None


def bearer(request: Request) -> str | None:
    """The token of `Authorization: Bearer`, else a form's `api_key` (how Open311 GeoReport clients send theirs;
    never read from the query string, which access logs keep)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        return request.form.get("api_key") or None
    return None


def _decided(service: str, request: Request, route: str, outcome: str, who: str, role: str | None) -> None:
    metrics.AUTHORIZATION_DECISIONS.labels(service, outcome).inc()
    log.info("authorization %s: %s %s %s by %s as %s", outcome, service, request.method, route, who, role or "-")


def authorize(service: str, route: str, request: Request, policy: Policy | None, kwargs: Mapping[str, Any]) -> Staff | None:
    """The caller a staff operation acts for (None for a public one); 401 without a valid token, 403 without a role."""
    if policy is None:
        _decided(service, request, route, "undeclared", "-", None)
        raise Forbidden(f"{request.method} {route} has no declared access policy", None, "该操作未声明访问权限")
    if policy.public is not None:
        return None
    token = bearer(request)
    if token is None:
        _decided(service, request, route, "unauthenticated", "-", None)
        raise Unauthenticated("sign in: send Authorization: Bearer <token>", "Authorization",
                              "请先登录:请求须携带 Authorization: Bearer <令牌>")
    try:
        staff = verifier().verify(token)
    except InvalidToken as exc:
        _decided(service, request, route, "unauthenticated", f"invalid token ({exc})", None)
        raise Unauthenticated("the token is not valid (signature, issuer, audience or expiry)", "Authorization",
                              "登录令牌无效或已过期,请重新登录") from None
    allowed = policy.roles_for(kwargs)
    role = next((r for r in staff.roles if r in allowed), None)
    if role is None:
        _decided(service, request, route, "denied", staff.subject, ",".join(staff.roles))
        raise Forbidden(f"roles {', '.join(staff.roles) or 'none'} may not do this; allowed: {', '.join(allowed)}",
                        "Authorization", f"当前身份无权执行该操作,限:{'、'.join(ROLES[r] for r in allowed)}")
    _decided(service, request, route, "allowed", staff.subject, role)
    return Staff(staff.subject, staff.name, staff.roles, staff.community, staff.party, role)


def identified(service: str, route: str, request: Request, roles: tuple[str, ...]) -> Staff | None:
    """On a public operation that shows staff more: the caller when a token is sent (401/403 as for a staff
    operation when it is bad), None for an anonymous one."""
    if bearer(request) is None:
        return None
    return authorize(service, route, request, Policy(roles=roles), {})


def caller(request: Request) -> Staff:
    """The signed-in staff member of a staff operation (set by `authorize`)."""
    staff = request.environ.get(STAFF_KEY)
    if staff is None:
        raise Unauthenticated("sign in: send Authorization: Bearer <token>", "Authorization", "请先登录")
    return staff


def with_actor(body: Any, request: Request) -> Any:
    """A command's body with the token's actor: a client never names its own (`actor` in the body is refused)."""
    if not isinstance(body, dict):
        return body
    if "actor" in body:
        raise InvalidInput("actor comes from the sign-on token; remove it from the body", "actor",
                               "操作人取自登录身份,请求内容中不应包含 actor")
    return body | {"actor": caller(request).actor()}

