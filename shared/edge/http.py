"""The HTTP edge shared by every nameko service: JSON, RFC 9457 problems, health and metrics."""
from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from shared import clock, metrics
from shared.config import Settings
from shared.edge.access import STAFF_KEY, Policy, allow, authorize, public
from shared.errors import DomainError, InvalidInput
from shared.idempotency import HEADER, checked_key
from shared.store.persistence import store_failed
from shared.store.projection import ensure_tables
from shared.messaging import broker, topology
from shared.messaging.relay import RelayState
from shared.runtime.spec import ServiceSpec

log = logging.getLogger(__name__)


class Runtime:
    """A service's Application and read-model database, one per nameko container."""

    def __init__(self, spec: ServiceSpec, settings: Settings):
        self.spec = spec
        self.settings = settings
        self.app = spec.application(settings)
        self.db = self.app.read_models  # one read-model pool per process: connections are a shared budget
        ensure_tables(self.db, spec.projections())
        self.relay_state = RelayState(self.db, f"{spec.name}.events")

    def close(self) -> None:
        self.db.close()
        self.app.close()


class RuntimeProvider(DependencyProvider):
    def __init__(self, spec: ServiceSpec):
        self.spec = spec
        self.runtime: Runtime | None = None

    def setup(self) -> None:
        self.runtime = Runtime(self.spec, Settings.from_env().for_service(self.spec.name))

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.close()

    def get_dependency(self, worker_ctx: Any) -> Runtime:
        assert self.runtime is not None
        return self.runtime


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")


def wants_english(request: Request) -> bool:
    """Chinese first: English only when the client prefers it (Accept-Language)."""
    return request.accept_languages.best_match(["zh-CN", "zh", "en"]) == "en"


def problem(request: Request, status: int, title: str, detail: str, field: str | None = None,
            title_zh: str | None = None, detail_zh: str | None = None) -> Response:
    """RFC 9457 problem details in the client's language (zh-CN by default), English always in `detail_en`."""
    english = wants_english(request) or detail_zh is None
    shown = detail if english else detail_zh
    body: dict[str, Any] = {"type": "about:blank", "title": title if english else (title_zh or title),
                            "status": status, "detail": shown, "detail_en": detail}
    if field:
        body["field"] = field
        body["invalid-params"] = [{"name": field, "reason": shown}]
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    headers={"Content-Language": "en" if english else "zh-CN"},
                    content_type="application/problem+json; charset=utf-8")


MAX_BODY = 64 * 1024


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"
    title_zh = "不支持的内容类型"


def _body(request: Request) -> bytes:
    """The request body, at most MAX_BODY bytes. A chunked body has no Content-Length, and werkzeug reads
    none unless the server says the input ends (`wsgi.input_terminated`, which eventlet does not set):
    eventlet's input decodes the chunks itself, so it is read here to its end."""
    if request.content_length and request.content_length > MAX_BODY:
        raise InvalidInput("body is larger than 64 KiB", "body", "请求内容不能超过 64 KiB")
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if chunked and request.content_length is None and not request.environ.get("wsgi.input_terminated"):
        data = request.environ["wsgi.input"].read(MAX_BODY + 1)
    else:
        data = request.get_data()
    if len(data) > MAX_BODY:
        raise InvalidInput("body is larger than 64 KiB", "body", "请求内容不能超过 64 KiB")
    return data


def read_json(request: Request) -> Any:
    """The JSON body (None when empty). Only a JSON media type is read as JSON: a cross-site form can send
    text/plain without asking, so anything else is a 415."""
    data = _body(request)
    if not data:
        return None
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"the body must be sent as application/json, not {request.mimetype or 'untyped'}",
                                   "Content-Type", "请求内容须以 application/json 格式发送")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidInput("body is not valid JSON", "body", "请求内容不是有效的 JSON") from None


def idempotency_key(request: Request) -> str | None:
    """The command's Idempotency-Key header (shared/idempotency.py), refused by name when malformed."""
    return checked_key(request.headers.get(HEADER))


def answered(body: Any, applied: bool, location: str | None = None) -> Response:
    """A command's answer under an Idempotency-Key: 201 when it was applied, 200 with the first result for a
    retry; `Idempotent-Replayed` says which."""
    headers = {"Idempotent-Replayed": "false" if applied else "true"} | ({"Location": location} if location else {})
    return json_response(body, status=201 if applied else 200, headers=headers)


def known_args(request: Request, allowed: tuple[str, ...]) -> None:
    """Refuse a query parameter the endpoint does not know, by name (a typo must not silently widen a list)."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown query parameter {unknown[0]}; known: {', '.join(allowed) or 'none'}", unknown[0],
                           f"不支持的查询参数 {unknown[0]}")


# what the shared readers below accept, for the OpenAPI documents (a route's own parameters are strings there)
QUERY_SCHEMAS = {"limit": {"type": "integer", "minimum": 0}, "offset": {"type": "integer", "minimum": 0},
                 "month": {"type": "string", "pattern": r"^\d{4}-\d\d$", "examples": ["2026-11"]}}


def page(request: Request, default: int = 100, most: int = 1000) -> tuple[int, int]:
    """(limit, offset) from the query string, refused by name when out of range."""
    values = []
    for name, fallback, high in (("limit", default, most), ("offset", 0, 10**9)):
        raw = request.args.get(name)
        if raw is not None and (not (raw.isascii() and raw.isdigit()) or int(raw) > high):
            raise InvalidInput(f"{name} must be an integer from 0 to {high}", name, f"{name} 必须是 0 到 {high} 之间的整数")
        values.append(int(raw) if raw is not None else fallback)
    return values[0], values[1]


def choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    """A query parameter that must be one of `allowed` (None when absent), refused by name otherwise."""
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", name, f"{name} 必须是 {'、'.join(allowed)} 之一")
    return value


RETRY_AFTER = 5  # seconds a client waits before retrying a command refused while the store is down


def _failed(request: Request, route: str, exc: Exception) -> Response:
    """503 with Retry-After while the store is down; 500 for anything else. A commit whose answer the outage lost
    was recorded all the same, so the 503 cannot promise nothing was: a retry with the same Idempotency-Key is
    answered with what was recorded, or records it once."""
    if store_failed(exc):
        log.warning("%s %s: store unavailable (%s)", request.method, route, type(exc).__name__)
        response = problem(request, 503, "Service unavailable", "the store is not answering; the request may not "
                           "have been recorded: retry later with the same Idempotency-Key", title_zh="服务暂不可用",
                           detail_zh="数据存储暂时无法访问,本次请求可能未被记录,请稍后使用相同的 Idempotency-Key 重试")
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    log.exception("%s %s failed", request.method, route)
    return problem(request, 500, "Internal error", "the request failed; nothing was recorded twice",
                   title_zh="服务内部错误", detail_zh="请求失败,请稍后重试;不会重复记录")


PROBLEM = {"$ref": "#/components/schemas/Problem"}  # a Reply's schema for a problem a route documents itself


@dataclass(frozen=True)
class Reply:
    """One answer a route documents: its description, media type, body schema (a pydantic model or a JSON
    schema) and an example."""

    description: str
    media: str | tuple[str, ...] | None = "application/json"  # several: as the client asks; None: no body (204)
    schema: Any = None
    example: Any = None

    @property
    def media_types(self) -> tuple[str, ...]:
        return () if self.media is None else (self.media,) if isinstance(self.media, str) else self.media


@dataclass(frozen=True)
class Upload:
    """A route's body that is not JSON: a file in one of `media` (a photo)."""

    media: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Route:
    """What one HTTP operation is: the nameko entrypoint and the OpenAPI operation are both made from it."""

    method: str
    rule: str  # werkzeug's: /cases/<string:case_id>
    policy: Policy
    body: Any = None  # the request model, {path parameter value: model} for a route of many commands, or an Upload
    query: tuple[str, ...] | None = ()
    responses: Mapping[int, Reply] = field(default_factory=lambda: {200: Reply("OK")})
    errors: Callable[[Request, DomainError], Response] | None = None
    documented: bool = False  # the responses were declared (not the default 200): the OpenAPI document takes them

    @property
    def path(self) -> str:
        """The OpenAPI path template: /cases/{case_id}."""
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", self.rule)

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"{([^}]+)}", self.path)


def route(method: str, rule: str, policy: Policy, *, body: Any = None, query: tuple[str, ...] | None = (),
          responses: Mapping[int, Reply | str] | None = None,
          errors: Callable[[Request, DomainError], Response] | None = None) -> Callable:
    """Declare an HTTP operation once: its nameko `@http` entrypoint, who may call it (`policy`, from
    shared/edge/access.py: allow, allow_per, public), its request model, the query parameters it reads (any other
    is refused by name; None: the endpoint checks them itself) and its documented responses. The entrypoint is
    wrapped: the caller is authorized, domain errors become RFC 9457 problems (or `errors`' shape, Open311's),
    every request is timed. `yishi docs` writes the OpenAPI operation from the same declaration."""
    replies = {status: Reply(r) if isinstance(r, str) else r for status, r in (responses or {200: "OK"}).items()}
    declared = Route(method, rule, policy, body, query, replies, errors, documented=responses is not None)

    def decorate(fn: Callable) -> Callable:
        label = declared.path

        @functools.wraps(fn)
        def wrapper(self: Any, request: Request, **kwargs: Any) -> Response:
            started = time.perf_counter()
            name = self.name
            try:
                request.environ[STAFF_KEY] = authorize(name, label, request, policy, kwargs)
                if query is not None:
                    known_args(request, query)
                response = fn(self, request, **kwargs)
            except DomainError as exc:
                if errors is not None:
                    response = errors(request, exc)
                else:
                    response = problem(request, exc.status, exc.title, exc.detail, exc.field, exc.title_zh,
                                       exc.detail_zh)
                    response.headers.update(getattr(exc, "headers", {}))
            except HTTPException as exc:  # werkzeug's own: a client that disconnected, a body too large
                response = problem(request, exc.code or 400, exc.name, exc.description or exc.name)
            except Exception as exc:
                response = _failed(request, label, exc)
            metrics.HTTP_SECONDS.labels(name, request.method, label, str(response.status_code)).observe(
                time.perf_counter() - started)
            return response

        wrapper.yishi_route = declared
        return http(method, rule)(wrapper)

    return decorate


def route_of(fn: Callable) -> Route | None:
    return getattr(fn, "yishi_route", None)


class RelayLag(Collector):
    """Relay lag is read off the store at scrape time: log head minus the relay's confirmed position."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def collect(self):
        gauge = GaugeMetricFamily("yishi_relay_lag_events", "Notifications not yet confirmed by the broker",
                                  labels=["service"])
        try:
            position, _ = self.runtime.relay_state.load()
            gauge.add_metric([self.runtime.spec.name], self.runtime.app.log_head() - position)
        except Exception:
            log.warning("relay lag unavailable", exc_info=True)
        yield gauge


class BrokerNodes(Collector):
    """`yishi_broker_node_up{node}` for each node `AMQP_URI` lists, probed at scrape time; nothing for one node
    (the broker's own state is in the consumers' metrics)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def collect(self):
        gauge = GaugeMetricFamily("yishi_broker_node_up", "1 while this RabbitMQ cluster node accepts connections",
                                  labels=["service", "node"])
        for node, state in broker.node_states(self.runtime.settings.amqp_uri).items():
            gauge.add_metric([self.runtime.spec.name, node], 1 if state == "ok" else 0)
        yield gauge


def consumer_states(conn: Connection, service: str) -> dict[str, str]:
    """`consumer:<upstream>` -> "ok" while the service's queue for that upstream has a subscriber."""
    states = {}
    for upstream in topology.upstreams(service):
        queue = topology.consumer_queue(service, upstream).name
        try:
            with conn.channel() as channel:  # a passive declare of a missing queue closes its channel
                _, depth, subscribers = channel.queue_declare(queue, passive=True)
            states[f"consumer:{upstream}"] = "ok" if subscribers else f"failed: no consumer ({depth} waiting)"
        except Exception as exc:
            states[f"consumer:{upstream}"] = f"failed: {type(exc).__name__}"
    return states


class Operable:
    """Mixin giving every service `GET /health` and `GET /metrics`."""

    runtime: Runtime

    @route("GET", "/health", public("health checks (load balancers, supervisors)"),
           responses={200: "ok", 503: Reply("degraded: a check failed")})
    def health(self, request: Request) -> Response:
        """Store, broker and every consumer of this service (its queue has an active subscriber): a service
        whose worker died, or whose consumer the broker dropped, is not ok."""
        return self._health(consumers=True)

    @route("GET", "/health/live", public("container health checks; the web process before its worker starts"),
           responses={200: "ok", 503: Reply("degraded: the store or the broker is not answering")})
    def liveness(self, request: Request) -> Response:
        """This process and what it needs itself (store, broker): what a container's health check waits for
        before its worker starts."""
        return self._health(consumers=False)

    def _health(self, consumers: bool) -> Response:
        checks = {}
        try:
            self.runtime.app.log_head()
            checks["store"] = "ok"
        except Exception as exc:
            checks["store"] = f"failed: {type(exc).__name__}"
        try:
            with Connection(self.runtime.settings.amqp_uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=broker.retries(self.runtime.settings.amqp_uri))
                checks["broker"] = "ok"
                if consumers:
                    checks |= consumer_states(conn, self.runtime.spec.name)
        except Exception as exc:
            checks.setdefault("broker", f"failed: {type(exc).__name__}")
        healthy = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if healthy else "degraded", "checks": checks, "clock": clock.status()}
        if nodes := broker.node_states(self.runtime.settings.amqp_uri):
            # a cluster's node down is shown, not failed: the others serve the queues while a majority is up
            body["broker_nodes"] = nodes
        return json_response(body, status=200 if healthy else 503)

    @route("GET", "/metrics", allow("operator"), responses={200: Reply(
        "Prometheus exposition (OpenMetrics when the Accept header asks for it)", "text/plain",
        {"type": "string"}, "# HELP yishi_relay_lag_events Notifications not yet confirmed by the broker\n")})
    def prometheus(self, request: Request) -> Response:
        collectors = (RelayLag(self.runtime), BrokerNodes(self.runtime), *self.runtime.spec.collectors(self.runtime.db))
        body, content_type = metrics.exposition(request.headers.get("Accept"), *collectors)
        return Response(body, headers={"Content-Type": content_type})
