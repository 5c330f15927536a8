"""`yishi`: every command explains itself, and refuses what it cannot do with a message and a non-zero exit."""
import argparse

import pytest

from shared.ops.cli import main, parser
from shared.ops.docs import openapi


def commands(p: argparse.ArgumentParser, prefix=()):
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from commands(sub, (*prefix, name))


ALL = list(commands(parser()))


def test_the_cli_has_every_operator_command():
    assert {("status",), ("rebuild",), ("replay",), ("dead-letters",), ("audit", "verify"), ("docs",)} <= set(ALL)


@pytest.mark.parametrize("command", [(), *ALL], ids=lambda c: " ".join(c) or "yishi")
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    assert "usage: yishi" in capsys.readouterr().out


def test_a_missing_argument_is_a_usage_error_that_names_it(capsys):
    with pytest.raises(SystemExit) as done:
        main(["replay", "intake", "--to-queue", "q"])
    assert done.value.code == 2 and "--from" in capsys.readouterr().err


def test_dead_letter_retry_without_a_choice_fails_before_touching_the_broker(capsys, monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@127.0.0.1:1/")  # never reached
    assert main(["dead-letters", "retry"]) == 1
    assert "name the messages with --id, or pass --all" in capsys.readouterr().err


def test_an_unreachable_broker_is_one_line_and_exit_1(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@127.0.0.1:1/")
    monkeypatch.setenv("YISHI_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--quiet", "dead-letters", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("yishi: dead-letters failed:") and "Traceback" not in err


def test_openapi_generation_writes_what_routes_declare_keeps_the_rest_and_follows_the_routes():
    hand_written = {"200": {"description": "hand-written list"}}
    existing = {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": {
        "/issues": {"post": {"operationId": "mine", "description": "hand-written",
                             "requestBody": {"description": "old"}},
                    "get": {"operationId": "list", "responses": hand_written}},
        "/gone": {"get": {"operationId": "old"}}}}
    doc, changes = openapi("intake", existing)
    report = doc["paths"]["/issues"]["post"]
    assert (report["operationId"], report["description"]) == ("mine", "hand-written")
    body = report["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ReportIssue"}
    assert "201" in report["responses"] and doc["paths"]["/issues"]["get"]["responses"] == hand_written
    assert "/gone" not in doc["paths"] and "- GET /gone" in changes
    assert "+ GET /issues/{key}" in changes and doc["paths"]["/issues/{key}"]["get"]["parameters"][0]["name"] == "key"
