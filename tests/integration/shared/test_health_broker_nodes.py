"""`/health` and `/metrics` when AMQP_URI lists a cluster's nodes and one does not answer: the service is served by
the others (ok, 200), the dead node is named without credentials, and `yishi_broker_node_up` (YishiBrokerNodeDown)
says 0 for it. The slow cluster test kills a real node
(test_fault_cluster_node.py); here a port nobody listens on stands for it."""
from pathlib import Path

import requests

from tests.support.identity import http
from tests.support.processes import System, free_port


def test_health_names_a_node_that_does_not_answer_and_stays_ok(amqp_uri: str, tmp_path: Path):
    dead = f"127.0.0.1:{free_port()}"
    vhost = amqp_uri.rsplit("/", 1)[1]
    env = {"AMQP_URI": f"amqp://guest:guest@{dead}/{vhost};{amqp_uri}", "YISHI_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": "", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    system = System(env, tmp_path)
    try:
        web = system.start("intake", "web")  # waits for /health/live: 200 through the node that answers
        answer = requests.get(web.url + "/health/live", timeout=10)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["checks"]["broker"] == "ok"
        live = amqp_uri.split("@", 1)[1].split("/", 1)[0]
        assert body["broker_nodes"] == {dead: "unreachable: ConnectionRefusedError", live: "ok"}
        assert "guest" not in answer.text
        metrics = http.get(f"{web.url}/metrics", timeout=10).text
        assert f'yishi_broker_node_up{{node="{dead}",service="intake"}} 0.0' in metrics, metrics
        assert f'yishi_broker_node_up{{node="{live}",service="intake"}} 1.0' in metrics
    finally:
        system.stop()
