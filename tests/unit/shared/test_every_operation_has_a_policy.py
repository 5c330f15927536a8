"""Deny by default: every operation of the OpenAPI documents (and every route) declares who may call it."""
from pathlib import Path

import pytest
import yaml

from shared.edge.access import ROLES, policy_of
from shared.ops.docs import HTTP_METHODS, routes
from shared.runtime.spec import built_services, service_class

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = sorted((ROOT / "docs" / "openapi").glob("*.yaml"))


def documented_operations():
    for document in DOCUMENTS:
        service = document.stem
        for path, item in yaml.safe_load(document.read_text())["paths"].items():
            for method in (m for m in item if m in HTTP_METHODS):
                yield service, path, method


@pytest.mark.parametrize("service,path,method", list(documented_operations()),
                         ids=lambda v: str(v))
def test_every_documented_operation_has_a_declared_policy(service, path, method):
    live = routes(service_class(service))
    assert (path, method) in live, f"{method.upper()} {path} is documented but {service} has no such route"
    policy = policy_of(getattr(service_class(service), live[(path, method)][0]))
    assert policy is not None, f"{service}: {method.upper()} {path} declares no access policy"
    assert policy.public or policy.all_roles(), f"{service}: {method.upper()} {path} allows nobody"
    assert set(policy.all_roles()) <= set(ROLES)


def test_the_documents_cover_every_built_service():
    assert {d.stem for d in DOCUMENTS} >= set(built_services())


@pytest.mark.parametrize("service", built_services())
def test_every_route_has_a_declared_policy(service):
    cls = service_class(service)
    undeclared = sorted(f"{m.upper()} {p}" for (p, m), (name, _) in routes(cls).items()
                        if policy_of(getattr(cls, name)) is None)
    assert not undeclared, f"{service}: no access policy on {undeclared}"
