"""`yishi status` with the broker down says so and exits 1, never 0 with `?` for the queue depths; with one node
of a cluster down it reads through the others and names that node."""
import os
import subprocess
import sys

from kombu import Connection

from shared.messaging import topology

from tests.support.processes import ROOT, free_port


def test_status_exits_1_naming_the_broker_when_it_is_down(tmp_path):
    env = os.environ | {"AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/", "YISHI_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "shared.ops.cli", "status"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "broker unreachable" in result.stderr and "status incomplete: broker unavailable" in result.stderr


def test_status_reads_through_the_nodes_that_answer_and_names_the_one_that_does_not(tmp_path, amqp_uri):
    dead = f"127.0.0.1:{free_port()}"
    down_first = f"amqp://guest:guest@{dead}/{amqp_uri.rsplit('/', 1)[1]};{amqp_uri}"
    with Connection(amqp_uri) as conn:
        topology.declare(conn)
    env = os.environ | {"AMQP_URI": down_first, "YISHI_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "shared.ops.cli", "status"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"broker: 1 of 2 nodes answer; {dead} unreachable: ConnectionRefusedError" in result.stderr
    # the queues read through the node that answers, not `?`
    assert "consumes intake: no consumer, tracked up to 0 (0 applied), queue casework--intake.events: 0 waiting" \
        in result.stdout, result.stdout
