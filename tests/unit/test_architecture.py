"""The domain of every service imports no framework, driver or broker (STYLE.md §2); shared/ is layered."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"nameko", "kombu", "psycopg", "eventlet", "werkzeug", "prometheus_client", "amqp", "sqlite3", "shared",
             "services"}
ALLOWED = {"shared.audit", "shared.clock", "shared.contracts", "shared.deadlines", "shared.masking", "shared.errors",
           "shared.idempotency"}
# shared/ from the ground up: a package imports only from its own layer and those below it.
LAYERS = ["contracts", "ground", "store", "messaging", "runtime", "edge", "ops"]
# topology asks the services what they react to when a queue is first declared: a late lookup, not a layer.
LATE = {("shared/messaging/topology.py", "shared.runtime.spec")}


def imports(path):
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names if node.module == "shared"}
    return names


def layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else "ground"


@pytest.mark.parametrize("path", sorted(ROOT.glob("services/*/domain.py")), ids=lambda p: p.parent.name)
def test_domain_imports_no_framework(path):
    own_rules = f"services.{path.parent.name}."  # its service's other pure modules (calendar, rules, triage)
    bad = {m for m in imports(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
           and not any(m == a or m.startswith(a + ".") for a in ALLOWED) and not m.startswith(own_rules)}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted(ROOT.glob("shared/**/*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_imports_nothing_above_its_layer_and_names_no_service(path):
    rel = str(path.relative_to(ROOT))
    own = LAYERS.index(layer(rel.removesuffix(".py").replace("/", ".")))
    above = {m for m in imports(path) if m.startswith("shared.") and LAYERS.index(layer(m)) > own
             and (rel, m) not in LATE}
    assert not above, f"{rel} imports from a layer above it: {sorted(above)}"
    assert not {m for m in imports(path) if m.startswith("services.")}, f"{rel} imports a service"
