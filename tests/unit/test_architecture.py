"""The domain of every service imports no framework, driver or broker (STYLE.md §2)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"nameko", "kombu", "psycopg", "eventlet", "werkzeug", "prometheus_client", "amqp", "sqlite3", "shared.http",
             "shared.relay", "shared.consumer", "shared.persistence"}


@pytest.mark.parametrize("path", sorted(ROOT.glob("services/*/domain.py")), ids=lambda p: p.parent.name)
def test_domain_imports_no_framework(path):
    tree = ast.parse(path.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    bad = {m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
