"""The contract documents say what the code does: AsyncAPI from the catalogue, OpenAPI per service's routes."""
import pytest
import yaml

from shared.contracts import CATALOGUE
from shared.ops.docs import ASYNCAPI, HEADER, HTTP_METHODS, asyncapi, dump, openapi_path, routes
from shared.runtime.spec import built_services, service_class


def test_the_committed_asyncapi_document_is_the_one_the_catalogue_generates():
    assert ASYNCAPI.read_text(encoding="utf-8") == HEADER + dump(asyncapi()), \
        "docs/asyncapi.yaml diverges from shared/contracts/catalogue.py: run `yishi docs`"


def test_every_contract_has_its_exchange_routing_key_and_payload_schema():
    doc = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    contracts = list(CATALOGUE)
    assert len(contracts) > 10 and len(doc["channels"]) == len(contracts)
    for c in contracts:
        channel = doc["channels"][f"{c.service}.{c.name}"]
        assert channel["address"] == c.name
        assert channel["bindings"]["amqp"]["exchange"]["name"] == f"{c.service}.events"
        assert doc["components"]["schemas"][f"{c.service}.{c.name}.v{c.version}"] == c.schema
        message = doc["components"]["messages"][f"{c.service}.{c.name}"]
        assert message["payload"]["allOf"][1]["properties"]["type"] == {"const": c.type_uri}
        assert f"{c.service}.{c.name}.publish" in doc["operations"]


@pytest.mark.parametrize("service", built_services())
def test_the_openapi_document_has_exactly_the_service_routes(service):
    path = openapi_path(service)
    assert path.exists(), f"{path} missing: run `yishi docs`"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.1")
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops if m in HTTP_METHODS}
    served = set(routes(service_class(service)))
    assert ("/health", "get") in served and len(served) > 2
    assert served - documented == set(), f"routes missing from {path.name}: run `yishi docs`"
    assert documented - served == set(), f"{path.name} documents routes the service does not serve: run `yishi docs`"
