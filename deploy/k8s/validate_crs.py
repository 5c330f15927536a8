"""Validates the custom resources of rendered manifests against the operators' CRD schemas in deploy/k8s/crds.

  python validate_crs.py RENDERED.yaml...     (with kubernetes-validate installed: deploy/install-tools.sh)

Kubernetes' own kinds are kubernetes-validate's (deploy/check.sh runs it on the same files); every other kind
must have a schema in crds/, or it is an error. A CRD's openAPIV3Schema is read the way the API server reads a
structural schema under strict field validation: an object that lists its properties refuses any other (unless
it says x-kubernetes-preserve-unknown-fields). x-yishi-reduced keeps only the type of a subtree Yishi does not
set; x-yishi-core names a Kubernetes core type, checked against kubernetes-validate's strict definitions
(crds/README.md). Exits 1 on the first file with an error, naming each.
"""
from __future__ import annotations

import functools
import json
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource

CRDS = Path(__file__).resolve().parent / "crds"
CORE_GROUPS = ("apps", "batch", "policy", "autoscaling")  # and "" (v1) and every *.k8s.io group
KUBERNETES = "1.37.0"  # kubernetes-validate's schemas: install-tools.sh pins the package


@functools.cache
def core_definitions() -> dict:
    path = resources.files("kubernetes_validate").joinpath(
        f"kubernetes-json-schema/v{KUBERNETES}-local-strict/_definitions.json")
    return json.loads(path.read_text(encoding="utf-8"))


def to_json_schema(node: object) -> object:
    """An openAPIV3Schema (structural) as a JSON Schema that refuses unknown fields."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("x-yishi-reduced"):
        return {"type": node["type"]}
    if "x-yishi-core" in node:
        return {"$ref": f"{core_definitions()['$id']}#/$defs/{node['x-yishi-core']}"}
    out = {k: to_json_schema(v) for k, v in node.items()
           if not k.startswith("x-") and k not in ("default", "nullable", "format")}
    if "properties" in out:
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
        if "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out


def schemas() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[(f"{crd['group']}/{crd['version']}", crd["kind"])] = {
            "file": path.name, "schema": to_json_schema(crd["openAPIV3Schema"])}
    return found


def is_core(api_version: str) -> bool:
    """A kind of Kubernetes itself (kubernetes-validate's), not an operator's."""
    group = api_version.rpartition("/")[0]
    return group == "" or group in CORE_GROUPS or group.endswith(".k8s.io")


def validate(paths: list[str]) -> list[str]:
    known, registry = schemas(), Registry().with_resource(
        core_definitions()["$id"], Resource.from_contents(core_definitions()))
    problems, checked = [], 0
    for path in paths:
        for doc in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
            if not doc:
                continue
            key, name = (doc.get("apiVersion", ""), doc.get("kind", "")), doc.get("metadata", {}).get("name")
            if key in known:
                validator = jsonschema.Draft202012Validator(known[key]["schema"], registry=registry)
                for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
                    where = ".".join(str(p) for p in error.path) or "(root)"
                    problems.append(f"{path}: {key[1]}/{name} ({known[key]['file']}): {where}: {error.message}")
                checked += 1
            elif not is_core(key[0]):
                problems.append(f"{path}: {key[1]}/{name}: no schema for {key[0]} {key[1]} in deploy/k8s/crds")
    print(f"validate_crs: {checked} custom resources checked against {len(known)} CRD schemas")
    return problems


if __name__ == "__main__":
    found = validate(sys.argv[1:])
    for line in found:
        print(line)
    sys.exit(1 if found else 0)
