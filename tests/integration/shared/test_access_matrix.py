"""Every staff operation, tried with no token, with each role and with a forged one: 401, 403 or let through
as its declared policy says (the handler then answers on its own: 2xx, 404, 422…, never 401/403)."""
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.config import Settings
from shared.edge.access import ROLES, policy_of
from shared.edge.http import Runtime
from shared.edge.signing import claims_for, sign
from shared.ops.docs import routes
from shared.runtime.spec import built_services, load_spec, service_class
from tests.support.identity import staff

SOME_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    settings = Settings(database_url=None, amqp_uri="amqp://guest:guest@127.0.0.1:1/",
                        var_dir=tmp_path_factory.mktemp("var"))
    runtimes = {name: Runtime(load_spec(name), settings) for name in built_services()}
    yield runtimes
    for runtime in runtimes.values():
        runtime.close()


def staff_operations():
    for service in built_services():
        cls = service_class(service)
        for (path, method), (name, _) in sorted(routes(cls).items()):
            policy = policy_of(getattr(cls, name))
            if policy.public is not None:
                continue
            params = re.findall(r"{([^}]+)}", path)
            for value in (policy.table or {None: None}):
                kwargs = {p: (value if p == policy.per else "json" if p == "fmt" else SOME_ID) for p in params}
                yield pytest.param(service, name, method, path, kwargs,
                                   id=f"{service} {method.upper()} {path} {value or ''}".strip())


def call(runtimes, service, name, method, kwargs, headers):
    cls = service_class(service)
    instance = cls.__new__(cls)
    instance.runtime = runtimes[service]
    body = {} if method in ("post", "put") else None
    request = Request(EnvironBuilder(method=method.upper(), path="/", json=body, headers=headers).get_environ())
    return getattr(instance, name)(request, **kwargs)


@pytest.mark.parametrize("service,name,method,path,kwargs", list(staff_operations()))
def test_a_staff_operation_answers_as_its_policy_declares(services, service, name, method, path, kwargs):
    policy = policy_of(getattr(service_class(service), name))
    allowed = set(policy.roles_for(kwargs))
    assert call(services, service, name, method, kwargs, {}).status_code == 401
    assert call(services, service, name, method, kwargs, {"Authorization": "Bearer not.a.token"}).status_code == 401
    for role in ROLES:
        status = call(services, service, name, method, kwargs, staff(role, "矩阵测试")).status_code
        if role in allowed:
            assert status not in (401, 403, 500), f"{role}: {status}"
        else:
            assert status == 403, f"{role} was let through ({status})"


def test_a_token_signed_by_another_key_is_refused(services):
    forged = sign(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                  claims_for("intruder", "冒充者", list(ROLES), None, 1))
    response = call(services, "casework", "list_cases", "get", {}, {"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_open_vote_needs_a_voters_token_and_a_secret_ballot_only_its_code(services):
    open_vote = {"motion_id": SOME_ID, "participant_id": SOME_ID, "choice": "for"}
    secret = {"motion_id": SOME_ID, "ballot": "ABCD-EFGH", "choice": "for"}

    def vote(body, headers):
        request = Request(EnvironBuilder(method="POST", path="/", json=body, headers=headers).get_environ())
        instance = service_class("meetings").__new__(service_class("meetings"))
        instance.runtime = services["meetings"]
        return instance.cast_vote(request, meeting_id=SOME_ID).status_code

    assert vote(open_vote, {}) == 401
    assert vote(open_vote, staff("property", "物业")) == 403
    assert vote(open_vote, staff("council_member", "李委员")) not in (401, 403)
    assert vote(secret, {}) not in (401, 403)


def test_decisions_are_logged_with_who_and_counted_but_never_the_token(services, caplog):
    from shared import metrics

    def count(outcome):
        return metrics.AUTHORIZATION_DECISIONS.labels("casework", outcome)._value.get()

    before = count("allowed"), count("denied")
    headers = staff("property", "物业小李")
    with caplog.at_level("INFO", logger="yishi.access"):
        call(services, "casework", "list_cases", "get", {}, headers)
        call(services, "casework", "add_rule", "post", {}, headers)
    assert (count("allowed"), count("denied")) == (before[0] + 1, before[1] + 1)
    lines = [r.getMessage() for r in caplog.records if r.name == "yishi.access"]
    assert any("allowed" in line and "GET /cases" in line and "as property" in line for line in lines)
    assert any("denied" in line and "POST /triage-rules" in line for line in lines)
    assert not any(headers["Authorization"].split()[1] in line or "物业小李" in line for line in lines)


def test_a_party_sees_and_acts_on_its_own_cases_and_staff_of_a_community_on_theirs(services):
    from services.casework.domain import case_id_for
    from tests.unit.casework.helpers import issue, reported

    data = issue("3号楼楼道灯坏了")
    services["casework"].app.process(reported(1, data))
    case_id = str(case_id_for(data["issue_id"]))
    party = services["casework"].app.get_case(case_id).party

    def ask(name, headers, method="get", **kwargs):
        return call(services, "casework", name, method, {"case_id": case_id, **kwargs}, headers).status_code

    assert ask("get_case", staff("property", "王师傅", party=party)) == 200
    assert ask("get_case", staff("property", "王师傅", party="别家物业")) == 403
    assert ask("command", staff("property", "王师傅", party="别家物业"), "post", command="plan") == 403
    assert ask("get_case", staff("community_worker", "李娜", community="幸福里")) == 200
    assert ask("get_case", staff("community_worker", "李娜", community="光明里")) == 403


def test_a_body_cannot_name_its_own_actor(services):
    request = Request(EnvironBuilder(method="POST", path="/", headers=staff("secretary", "王书记"), json={
        "actor": {"role": "secretary", "name": "冒名者"}, "summary": "已处理"}).get_environ())
    instance = service_class("casework").__new__(service_class("casework"))
    instance.runtime = services["casework"]
    response = instance.add_rule(request)
    assert response.status_code == 422 and b'"field": "actor"' in response.get_data()


def test_the_public_ledger_shows_public_columns_and_staff_see_whole_cases(services):
    import json

    from tests.unit.casework.helpers import issue, reported

    casework = services["casework"]
    casework.app.process(reported(2, issue("5号楼路灯不亮")))

    public = json.loads(call(services, "casework", "list_cases", "get", {}, {}).get_data())["cases"]
    signed_in = json.loads(call(services, "casework", "list_cases", "get", {}, staff("secretary", "王书记"))
                           .get_data())["cases"]
    assert public and len(public) == len(signed_in)
    assert all("plan" not in c and "resolutions" not in c and "escalations" not in c for c in public)
    assert all("resolutions" in c and "plan" in c for c in signed_in)
    assert call(services, "casework", "list_cases", "get", {}, {"Authorization": "Bearer nonsense"}).status_code == 401
    assert call(services, "casework", "list_cases", "get", {}, staff("operator", "运维")).status_code == 403
