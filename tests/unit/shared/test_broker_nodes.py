"""AMQP_URI naming a cluster's nodes (shared/messaging/broker.py): parsed as kombu parses it, shown without
credentials."""
from kombu import Connection

from shared.messaging import broker

CLUSTER = "amqp://u:secret@10.0.0.1:5672/yishi; amqp://u:secret@rabbit-b/yishi;amqp://u:secret@[::1]:5673/yishi;"


def test_the_nodes_are_the_ones_kombu_fails_over_to():
    urls = broker.node_urls(CLUSTER)
    assert [broker.node_address(u) for u in urls] == ["10.0.0.1:5672", "rabbit-b:5672", "::1:5673"]
    conn = Connection(";".join(urls))
    assert [conn.hostname, *conn.alt[1:]] == ["10.0.0.1", *urls[1:]]


def test_retries_try_every_node_once_and_a_single_node_as_before():
    assert broker.retries(CLUSTER) == 2
    assert broker.retries("amqp://guest:guest@127.0.0.1:5672/") == 1


def test_a_single_node_has_no_node_states_of_its_own():
    assert broker.node_states("amqp://guest:guest@127.0.0.1:1/") == {}


def test_only_nodes_that_do_not_answer_are_described():
    assert broker.describe({"a:5672": "ok", "b:5672": "ok"}) is None
    assert broker.describe({"a:5672": "ok", "b:5672": "unreachable: ConnectionRefusedError", "c:5672": "ok"}) == \
        "broker: 2 of 3 nodes answer; b:5672 unreachable: ConnectionRefusedError"
    assert "secret" not in str([broker.node_address(u) for u in broker.node_urls(CLUSTER)])
