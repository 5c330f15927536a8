"""The contract documents say what the code does: AsyncAPI from the catalogue, OpenAPI per service's routes."""
import inspect

import pytest
import yaml
from openapi_spec_validator import validate

from shared.contracts import CATALOGUE
from shared.ops.docs import ASYNCAPI, HEADER, HTTP_METHODS, asyncapi, declarations, dump, openapi, openapi_path, routes
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


@pytest.mark.parametrize("service", built_services())
def test_the_committed_openapi_document_is_the_one_the_route_declarations_generate(service):
    path = openapi_path(service)
    existing = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc, changes = openapi(service, existing)
    assert not changes and path.read_text(encoding="utf-8") == dump(doc), \
        f"{path.name} diverges from {service}'s route declarations: run `yishi docs`"


@pytest.mark.parametrize("service", built_services())
def test_the_openapi_document_is_valid_openapi_3_1(service):
    validate(yaml.safe_load(openapi_path(service).read_text(encoding="utf-8")))


def test_metrics_are_documented_as_prometheus_text():
    doc = yaml.safe_load(openapi_path("casework").read_text(encoding="utf-8"))
    assert list(doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]


@pytest.mark.parametrize("service", ["casework", "intake", "meetings", "notifications", "liaison"])
def test_every_command_that_reads_a_body_documents_it_from_its_model(service):
    doc = yaml.safe_load(openapi_path(service).read_text(encoding="utf-8"))
    cls = service_class(service)
    for (path, method), (name, _) in declarations(cls).items():
        if method not in ("post", "put", "patch") or "read_json(" not in inspect.getsource(getattr(cls, name)):
            continue
        if path.startswith("/open311/"):  # GeoReport v2's own form fields (docs/open311.md), not a model yet
            continue
        body = doc["paths"][path][method].get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = body.get("schema", {})
        refs = [s["$ref"] for s in schema.get("anyOf", [schema]) if "$ref" in s]
        assert refs, f"{method.upper()} {path} reads a body and documents no request model"
        for ref in refs:
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]


def test_a_residents_report_documents_its_model_with_a_chinese_example():
    doc = yaml.safe_load(openapi_path("intake").read_text(encoding="utf-8"))
    op = doc["paths"]["/issues"]["post"]
    body = op["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ReportIssue"} and body["example"]["title"] == "3号楼楼道灯坏了"
    schema = doc["components"]["schemas"]["ReportIssue"]
    assert schema["additionalProperties"] is False and schema["properties"]["title"]["maxLength"] == 100
    assert {"201", "200", "429"} <= set(op["responses"])


ANSWERS = {"table_response(": ("text/csv", "application/json"),
           "document_response(": ("application/json", "text/markdown", "text/html")}


@pytest.mark.parametrize("service", built_services())
def test_an_operation_answering_csv_or_a_printable_document_documents_those_content_types(service):
    doc = yaml.safe_load(openapi_path(service).read_text(encoding="utf-8"))
    cls = service_class(service)
    for (path, method), (name, _) in declarations(cls).items():
        source = inspect.getsource(getattr(cls, name))
        for call, media in ANSWERS.items():
            if call in source:
                content = doc["paths"][path][method]["responses"]["200"]["content"]
                assert set(media) <= set(content), f"{method.upper()} {path} answers {media}, documents {list(content)}"


def _models(service):
    from shared.edge.http import Upload

    for (path, method), (_, declared) in declarations(service_class(service)).items():
        body = declared.body
        if body is None or isinstance(body, Upload):
            continue
        for model in (body.values() if isinstance(body, dict) else [body]):
            yield f"{method.upper()} {path}", model


@pytest.mark.parametrize("service", built_services())
def test_every_request_model_has_an_example_that_it_accepts(service):
    for operation, model in _models(service):
        assert model.example is not None, f"{operation}: {model.__name__} has no example"
        model.parse(model.example)  # an example the model refuses would teach clients a wrong body
