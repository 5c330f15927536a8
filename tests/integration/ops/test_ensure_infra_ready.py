"""The machine's own RabbitMQ and PostgreSQL pass ensure-infra's readiness check as what they are (check only:
nothing is installed, started or stopped)."""
import subprocess

from tests.support.processes import ROOT


def test_the_running_broker_and_database_are_recognised():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-infra.sh"), "--check", "--postgres"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
