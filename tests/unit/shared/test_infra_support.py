"""The tests find rabbitmqctl where Debian puts it, and as a normal user go through sudo (or the management API)."""

from tests.support import infra


def test_rabbitmqctl_is_found_under_usr_sbin_and_run_with_sudo_by_a_normal_user(monkeypatch):
    monkeypatch.setattr(infra.shutil, "which", lambda name: "/usr/bin/sudo" if name == "sudo" else None)
    monkeypatch.setattr(infra.os, "access", lambda path, mode: path == "/usr/sbin/rabbitmqctl")
    monkeypatch.setattr(infra.os, "geteuid", lambda: 1000)
    assert infra.rabbitmqctl_command() == ["sudo", "-n", "/usr/sbin/rabbitmqctl"]
    monkeypatch.setattr(infra.os, "geteuid", lambda: 0)
    assert infra.rabbitmqctl_command() == ["/usr/sbin/rabbitmqctl"]


def test_without_rabbitmqctl_the_management_api_is_used(monkeypatch):
    monkeypatch.setattr(infra.shutil, "which", lambda name: None)
    monkeypatch.setattr(infra.os, "access", lambda path, mode: False)
    calls = []
    monkeypatch.setattr(infra, "_management", lambda method, path, body=None: calls.append((method, path)))
    uri = infra.create_vhost()
    assert [m for m, _ in calls] == ["PUT", "PUT"] and uri.startswith("amqp://guest:guest@")


def test_a_failing_rabbitmqctl_falls_back_to_the_management_api(monkeypatch):
    monkeypatch.setattr(infra, "rabbitmqctl_command", lambda: ["false"])
    calls = []
    monkeypatch.setattr(infra, "_management", lambda method, path, body=None: calls.append((method, path)))
    infra.create_vhost()
    assert len(calls) == 2
