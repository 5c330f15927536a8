"""An event edited, deleted or moved directly in PostgreSQL breaks the audit chain exactly there."""
import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
import requests

from services.casework.application import CaseworkApplication
from services.intake.application import IntakeApplication
from shared.audit import trail, verify_all
from shared.ops.checkpoints import Checkpointer, recorded
from shared.config import Settings
from shared.store.persistence import pg_params
from tests.support.processes import ROOT, Process
from tests.unit.casework.helpers import STAFF
from tests.support.seeding import seed_casework, seed_intake, store_env
from tests.support.identity import http


@pytest.fixture
def pg_settings(pg_url, amqp_uri, tmp_path: Path) -> Settings:
    return Settings(database_url=pg_url, amqp_uri=amqp_uri, var_dir=tmp_path / "var")


@pytest.fixture
def intake(pg_settings):
    app = IntakeApplication(pg_settings)
    seed_intake(app, 9)  # issues 1, 4 and 7 have two events: Reported, Merged
    yield app
    app.close()


def sql(settings, statement, params=()):
    with psycopg.connect(**pg_params(settings.database_url), autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def progressed_issue(settings):
    return sql(settings, "SELECT originator_id FROM intake.intake_events WHERE originator_version = 2 "
                         "ORDER BY notification_id LIMIT 1")[0][0]


def edit_state(settings, aggregate_id, version, change):
    [(state,)] = sql(settings, "SELECT state FROM intake.intake_events WHERE originator_id = %s AND "
                               "originator_version = %s", (aggregate_id, version))
    doc = json.loads(bytes(state))
    change(doc)
    sql(settings, "UPDATE intake.intake_events SET state = %s WHERE originator_id = %s AND originator_version = %s",
        (json.dumps(doc).encode(), aggregate_id, version))


def yishi_verify(settings, *options):
    return subprocess.run([sys.executable, "-m", "shared.ops.cli", "--quiet", "audit", "verify", "intake", *options], cwd=ROOT,
                          env=os.environ | store_env(settings), capture_output=True, text=True, timeout=120)


def test_an_untouched_log_verifies(intake, pg_settings):
    assert verify_all(intake)["verified"]
    result = yishi_verify(pg_settings)
    assert result.returncode == 0, result.stderr
    assert "9 aggregates, 12 events: every chain verified" in result.stdout


def test_an_event_edited_in_postgresql_fails_verification_at_that_event(intake, pg_settings):
    issue = progressed_issue(pg_settings)
    edit_state(pg_settings, issue, 1, lambda d: d["report"].update(title="没有问题"))
    history = trail(intake, issue)
    assert not history["verified"] and history["broken_at"] == 1
    assert history["entries"][0]["data"]["report"]["title"] == "没有问题"  # shows what is stored, flagged
    result = yishi_verify(pg_settings)
    assert result.returncode == 1
    assert f"aggregate {issue} at version 1: event changed after it was recorded" in result.stderr
    others = [t for t in verify_all(intake)["broken"] if t["aggregate_id"] != str(issue)]
    assert others == [], "only the edited aggregate is named"


def test_a_deleted_event_fails_verification(intake, pg_settings):
    issue = progressed_issue(pg_settings)
    sql(pg_settings, "DELETE FROM intake.intake_events WHERE originator_id = %s AND originator_version = 1", (issue,))
    assert trail(intake, issue)["broken_at"] == 1
    assert yishi_verify(pg_settings).returncode == 1


def test_swapped_events_fail_verification(intake, pg_settings):
    issue = progressed_issue(pg_settings)
    rows = sql(pg_settings, "SELECT originator_version, topic, state FROM intake.intake_events WHERE originator_id = %s "
                            "ORDER BY originator_version", (issue,))
    (v1, t1, s1), (v2, t2, s2) = rows
    for version, topic, state in ((v1, t2, s2), (v2, t1, s1)):
        sql(pg_settings, "UPDATE intake.intake_events SET topic = %s, state = %s WHERE originator_id = %s AND "
                         "originator_version = %s", (topic, state, issue, version))
    report = verify_all(intake)
    assert [b["version"] for b in report["broken"]] == [1]
    assert yishi_verify(pg_settings).returncode == 1


def test_a_case_history_with_a_deleted_event_answers_not_verified_naming_the_gap(pg_settings, tmp_path):
    casework = CaseworkApplication(pg_settings)
    seed_casework(casework, 1)
    [(case_id,)] = sql(pg_settings, "SELECT DISTINCT originator_id FROM casework.casework_events")
    # a case opens (and is dispatched) in one event: a second, so that one is left when the first is deleted
    casework.command(str(case_id), "escalation", {"actor": STAFF, "to": "council", "reason": "需议事会协商"})
    casework.close()
    sql(pg_settings, "DELETE FROM casework.casework_events WHERE originator_id = %s AND originator_version = 1",
        (case_id,))
    web = Process("casework", "web", store_env(pg_settings), tmp_path).start()
    try:
        answer = http.get(f"{web.url}/cases/{case_id}/history", timeout=10)
        assert answer.status_code == 200, answer.text
        history = answer.json()
        assert history["verified"] is False and history["broken_at"] == 1 and "missing" in history["reason"]
        assert http.get(f"{web.url}/cases/{uuid4()}/history", timeout=10).status_code == 404
    finally:
        web.stop()


def test_stripping_the_hash_fields_from_an_edited_event_and_every_later_one_fails_verification(intake, pg_settings):
    issue = progressed_issue(pg_settings)
    edit_state(pg_settings, issue, 1, lambda d: d["report"].update(title="没有问题"))
    for version in (1, 2):
        edit_state(pg_settings, issue, version, lambda d: [d.pop("audit_prev"), d.pop("audit_hash")])
    assert trail(intake, issue)["broken_at"] == 1
    result = yishi_verify(pg_settings)
    assert result.returncode == 1 and f"aggregate {issue} at version 1: audited event carries no hash" in result.stderr


def test_a_cut_tail_fails_verification_against_a_checkpoint_a_subscriber_holds(intake, pg_settings, tmp_path):
    assert Checkpointer(interval=0)(intake)
    held = tmp_path / "checkpoint.json"
    held.write_text(json.dumps({"type": "cn.yishi.intake.AuditCheckpointed.v1", "data": recorded(intake)[-1]}))
    assert yishi_verify(pg_settings, "--checkpoint", str(held)).returncode == 0
    sql(pg_settings, "DELETE FROM intake.intake_events WHERE notification_id > 10")  # two reports and the checkpoint
    assert verify_all(intake)["verified"], "the chains alone cannot tell"
    result = yishi_verify(pg_settings, "--checkpoint", str(held))
    assert result.returncode == 1 and "its tail was cut" in result.stderr
