"""GET /health reports every consumer of the service: a service whose worker died is not ok."""
import pytest
import requests

from shared.messaging import topology
from tests.support.processes import wait_until


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_health_is_degraded_while_a_consumer_of_the_service_is_gone(system):
    web = system.start("intake", "web")
    system.start("intake", "worker")
    consumers = {f"consumer:{u}" for u in topology.upstreams("intake")}
    assert consumers, "intake follows no one: nothing to test"

    def health():
        r = requests.get(f"{web.url}/health", timeout=10)
        return r.status_code, r.json()["checks"]

    wait_until(lambda: health()[0] == 200, timeout=30, message="intake healthy with its worker")
    assert set(health()[1]) >= consumers | {"store", "broker"}

    system.procs[("intake", "worker")].kill()
    status, checks = wait_until(lambda: (h := health())[0] == 503 and h, timeout=10,
                                message="intake degraded without its consumers")
    assert all(checks[c].startswith("failed: no consumer") for c in consumers), checks
    assert checks["store"] == checks["broker"] == "ok"
    assert requests.get(f"{web.url}/health/live", timeout=10).status_code == 200  # the web process itself is fine
