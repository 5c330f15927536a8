"""PostgreSQL per service: intake and casework each on a database of its own (YISHI_<SERVICE>_DATABASE_URL), with
no DATABASE_URL at all; a report still becomes a case, each service writes only its own database, and the
operator's commands (status, rebuild, replay) find each service's log and read models where it keeps them."""
import json

import psycopg
import pytest
import requests
from kombu import Connection, Exchange, Queue

from tests.support.identity import http
from tests.support.infra import create_database, drop_database
from tests.support.processes import System, wait_until
from tests.e2e.test_report_to_case import REPORT


@pytest.fixture
def own_databases():
    urls = {"intake": create_database(), "casework": create_database()}
    yield urls
    for url in urls.values():
        drop_database(url)


@pytest.fixture
def split_system(own_databases, amqp_uri, tmp_path):
    (tmp_path / "metrics").mkdir()
    env = {"AMQP_URI": amqp_uri, "YISHI_VAR_DIR": str(tmp_path / "var"), "YISHI_POLL_INTERVAL": "0.02",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "DATABASE_URL": "",
           "YISHI_INTAKE_DATABASE_URL": own_databases["intake"],
           "YISHI_CASEWORK_DATABASE_URL": own_databases["casework"],
           "YISHI_PG_POOL_SIZE": "1", "YISHI_CASEWORK_PG_POOL_SIZE": "2"}  # few connections: a shared server
    system = System(env, tmp_path)
    yield system
    system.stop()


def schemas_and_rows(url: str) -> dict[str, int]:
    """{schema: rows in its events table} of the Yishi schemas in one database."""
    with psycopg.connect(url) as conn:
        found = {}
        for (schema,) in conn.execute("SELECT schema_name FROM information_schema.schemata "
                                      "WHERE schema_name NOT LIKE 'pg_%' AND schema_name NOT IN "
                                      "('public', 'information_schema')").fetchall():
            table = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                                 "AND table_name = %s", (schema, f"{schema}_events")).fetchone()
            found[schema] = conn.execute(f'SELECT count(*) FROM "{schema}"."{schema}_events"').fetchone()[0] \
                if table else -1
        return found


def test_two_services_on_two_databases_each_write_only_their_own(split_system, own_databases, amqp_uri, tmp_path):
    with Connection(amqp_uri) as conn:  # a late subscriber for the replay below, bound to nothing
        Queue("late-subscriber", Exchange("casework.events", "topic", durable=True),
              routing_key="no-such-type")(conn.default_channel).declare()
    for service in ("intake", "casework"):
        split_system.start(service, "web")
        split_system.start(service, "worker")
    intake, casework = split_system.web("intake").url, split_system.web("casework").url

    created = requests.post(f"{intake}/issues", json=REPORT, timeout=5)
    assert created.status_code == 201, created.text
    issue_id = created.json()["issue_id"]
    cases = wait_until(lambda: http.get(f"{casework}/cases", timeout=5).json()["cases"], message="case in ledger")
    assert wait_until(lambda: requests.get(f"{intake}/issues/{issue_id}", timeout=5).json()["case"],
                      message="intake learns of the case")["case_id"] == cases[0]["case_id"]

    in_intake_db, in_casework_db = schemas_and_rows(own_databases["intake"]), schemas_and_rows(own_databases["casework"])
    assert set(in_intake_db) == {"intake"} and in_intake_db["intake"] > 0, in_intake_db
    assert set(in_casework_db) == {"casework"} and in_casework_db["casework"] > 0, in_casework_db
    var = tmp_path / "var"
    assert not any(var.glob("intake.sqlite3*")) and not any(var.glob("casework.sqlite3*"))  # nothing fell back

    # the operator's command, configured like the services, reads each service from its own database
    statuses = {s["service"]: s for s in json.loads(split_system.yishi("status", "--json").stdout)}
    assert statuses["intake"]["log_head"] == in_intake_db["intake"]
    assert statuses["casework"]["log_head"] == in_casework_db["casework"]
    assert statuses["casework"]["consumers"][0]["position"] >= 1  # casework's tracking of intake, in casework's db
    rebuilt = split_system.yishi("-q", "rebuild", "casework", "ledger")
    assert "rebuilt from the log" in rebuilt.stdout
    replayed = split_system.yishi("-q", "replay", "casework", "--from", "1", "--to-queue", "late-subscriber")
    assert replayed.returncode == 0
    with Connection(amqp_uri) as conn:
        message = wait_until(lambda: Queue("late-subscriber")(conn.default_channel).get(no_ack=True),
                             message="casework's archive replayed")
        assert json.loads(message.body)["id"] == "casework-1"
    assert set(schemas_and_rows(own_databases["intake"])) == {"intake"}  # still only its own
    assert set(schemas_and_rows(own_databases["casework"])) == {"casework"}
