"""A worker in a pod of its own serves its metrics (YISHI_METRICS_PORT): its multiprocess files, and its siblings'."""
import subprocess
import sys
import urllib.request

from tests.support.processes import ROOT, free_port

CHILD = """
import os, sys, time, urllib.request
from shared import metrics
metrics.CONSUMER_LAG.labels("casework", "casework--intake.events").set(42)
server = metrics.serve(int(sys.argv[1]))
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
server.shutdown()
"""


def test_the_worker_metrics_port_serves_what_the_process_recorded(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", CHILD, str(free_port())], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert 'yishi_consumer_lag_messages{queue="casework--intake.events",service="casework"} 42.0' in result.stdout
    assert any(tmp_path.glob("gauge_livemax_*.db"))  # read from the multiprocess files, as the web's /metrics does
