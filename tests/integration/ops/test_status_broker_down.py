"""`yishi status` with the broker down says so and exits 1, never 0 with `?` for the queue depths."""
import os
import subprocess
import sys

from tests.support.processes import ROOT, free_port


def test_status_exits_1_naming_the_broker_when_it_is_down(tmp_path):
    env = os.environ | {"AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/", "YISHI_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "shared.ops.cli", "status"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "broker unreachable" in result.stderr and "status incomplete: broker unavailable" in result.stderr
