"""The container deployment validates: docker compose config, promtool, the dashboards (deploy/check.sh)."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_deployment_files_validate():
    result = subprocess.run(["bash", str(ROOT / "deploy/check.sh")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  docker" in result.stdout or "SKIP  docker" in result.stdout
