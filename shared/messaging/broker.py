"""The broker's nodes. `AMQP_URI` may name several nodes of one RabbitMQ cluster, `;`-separated
(`amqp://u:p@a:5672/;amqp://u:p@b:5672/;amqp://u:p@c:5672/`, kombu's failover list): every connection the
system makes (relay, consumers, health, `yishi`) is a kombu `Connection` of that string, which tries the nodes in
order and moves to the next when one refuses or drops; nothing else in the code knows there are several.

A node down is not the service down while the others answer (quorum queues keep a majority of their replicas):
`/health` and `yishi status` show each node's state beside the broker's.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from kombu import Connection


def node_urls(amqp_uri: str) -> list[str]:
    return [url.strip() for url in amqp_uri.split(";") if url.strip()]


def retries(amqp_uri: str) -> int:
    """`max_retries` for `ensure_connection` that tries every listed node before giving up (one node: one retry)."""
    return max(1, len(node_urls(amqp_uri)) - 1)


def node_address(url: str) -> str:
    """host:port of a node's URL, without its credentials (for health output and logs)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5672}"


def node_states(amqp_uri: str, timeout: float = 1.0) -> dict[str, str]:
    """host:port -> "ok", or why that node cannot be reached; {} when the URI names one node only (its state is
    the broker's)."""
    urls = node_urls(amqp_uri)
    if len(urls) < 2:
        return {}
    states = {}
    for url in urls:
        try:
            with Connection(url, connect_timeout=timeout) as conn:
                conn.ensure_connection(max_retries=0)
            states[node_address(url)] = "ok"
        except Exception as exc:
            states[node_address(url)] = f"unreachable: {type(exc.__cause__ or exc).__name__}"  # kombu wraps it
    return states


def describe(states: dict[str, str]) -> str | None:
    """One line for an operator when some node does not answer, else None."""
    down = {node: state for node, state in states.items() if state != "ok"}
    if not down:
        return None
    return f"broker: {len(states) - len(down)} of {len(states)} nodes answer; " + \
        ", ".join(f"{node} {state}" for node, state in down.items())
