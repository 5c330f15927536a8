"""The test clock: one offset every process of a test deployment reads, never allowed in production."""
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from shared.ops.cli import main
from shared.clock import TestClock, TestClockRefused, clock_file, enabled, parse_duration, parse_moment
from shared.config import Settings
from tests.support.processes import ROOT

REAL = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


class Wall:
    """Real time that a test moves by hand."""

    def __init__(self) -> None:
        self.now = REAL

    def __call__(self) -> datetime:
        return self.now


def test_without_an_offset_file_the_test_clock_is_real_time(tmp_path):
    assert TestClock(tmp_path / "test-clock.json", Wall())() == REAL


def test_a_clock_set_to_a_moment_reads_that_moment_and_keeps_running(tmp_path):
    wall = Wall()
    clock = TestClock(tmp_path / "test-clock.json", wall)
    clock.set(parse_moment("2026-12-20T09:00:00+08:00"))
    assert clock() == datetime(2026, 12, 20, 1, 0, tzinfo=timezone.utc)
    wall.now += timedelta(minutes=5)
    assert clock() == datetime(2026, 12, 20, 1, 5, tzinfo=timezone.utc)


def test_advancing_adds_the_duration_and_every_process_on_the_file_sees_it(tmp_path):
    wall = Wall()
    path = tmp_path / "test-clock.json"
    other_process = TestClock(path, wall)
    assert other_process() == REAL  # read once: later reads come from its cache until the file changes
    TestClock(path, wall).advance(parse_duration("P3DT2H"))
    assert other_process() == REAL + timedelta(days=3, hours=2)
    TestClock(path, wall).advance(parse_duration("PT30M"))
    assert other_process() == REAL + timedelta(days=3, hours=2, minutes=30)


def test_a_test_clock_moves_forward_only(tmp_path):
    clock = TestClock(tmp_path / "test-clock.json", Wall())
    clock.advance(timedelta(days=1))
    with pytest.raises(ValueError, match="forward only"):
        clock.set(REAL)
    with pytest.raises(ValueError, match="forward only"):
        clock.advance(timedelta(0))


@pytest.mark.parametrize("text, expected", [("P3DT2H", timedelta(days=3, hours=2)), ("P1W", timedelta(weeks=1)),
                                            ("PT90M", timedelta(minutes=90)), ("pt1.5s", timedelta(seconds=1.5))])
def test_iso_8601_durations_are_read(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text, reason", [("3 days", "not an ISO 8601 duration"), ("P", "not an ISO 8601"),
                                          ("PT", "not an ISO 8601"), ("P1M", "no fixed length"),
                                          ("P1Y2D", "no fixed length")])
def test_durations_that_are_not_fixed_lengths_are_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_duration(text)


def test_a_moment_without_its_utc_offset_is_refused():
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_moment("2026-12-20T09:00:00")


def test_the_test_clock_is_used_only_when_asked_for():
    assert not enabled({})
    assert not enabled({"YISHI_TEST_CLOCK": "0"})
    assert enabled({"YISHI_TEST_CLOCK": "1", "DATABASE_URL": "postgresql://yishi@127.0.0.1:5432/yishi"})


@pytest.mark.parametrize("environ, reason", [
    ({"YISHI_ENV": "production"}, "YISHI_ENV=production"),
    ({"DATABASE_URL": "postgresql://yishi:pw@db.street-office.example:5432/yishi"}, "not this machine"),
    ({"DATABASE_URL": "postgresql://yishi@127.0.0.1:5432/yishi",
      "YISHI_CASEWORK_DATABASE_URL": "postgresql://yishi:pw@casework-db.example:5432/casework"},
     "YISHI_CASEWORK_DATABASE_URL points at PostgreSQL on casework-db.example")])
def test_the_test_clock_is_refused_in_production_settings(environ, reason):
    with pytest.raises(TestClockRefused, match=reason) as refused:
        enabled({"YISHI_TEST_CLOCK": "1", **environ})
    assert refused.value.code.startswith("yishi: not starting: YISHI_TEST_CLOCK=1 is refused here")


def test_every_process_refuses_to_start_with_a_test_clock_in_production(monkeypatch):
    monkeypatch.setenv("YISHI_TEST_CLOCK", "1")
    monkeypatch.setenv("YISHI_ENV", "production")
    with pytest.raises(TestClockRefused):
        Settings.from_env()  # read first by the supervisor, every web and worker process and `yishi`


def test_the_supervisor_says_why_it_does_not_start_with_a_test_clock_in_production(tmp_path):
    env = os.environ | {"YISHI_VAR_DIR": str(tmp_path), "YISHI_TEST_CLOCK": "1", "YISHI_ENV": "production"}
    result = subprocess.run([sys.executable, "-m", "shared.runtime.supervisor"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "not starting: YISHI_TEST_CLOCK=1 is refused here: YISHI_ENV=production" in result.stderr


def test_yishi_clock_writes_the_offset_the_services_read(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("YISHI_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("YISHI_TEST_CLOCK", "1")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["clock", "advance", "P10D"]) == 0
    clock = TestClock(clock_file(os.environ))
    assert clock() - datetime.now(timezone.utc) > timedelta(days=9, hours=23)
    assert main(["clock", "set", "2030-01-01T00:00:00+08:00"]) == 0
    assert clock().year == 2029 and "2029-12-31T16:00:00" in capsys.readouterr().out
    assert main(["clock", "set", "2029-01-01T00:00:00Z"]) == 1
    assert "forward only" in capsys.readouterr().err


def test_yishi_clock_is_refused_in_production_even_when_the_shell_lacks_yishi_test_clock(tmp_path, monkeypatch,
                                                                                         capsys):
    monkeypatch.setenv("YISHI_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("YISHI_ENV", "production")
    monkeypatch.delenv("YISHI_TEST_CLOCK", raising=False)
    assert main(["clock", "advance", "P1D"]) == 1
    assert "refused" in capsys.readouterr().err and not clock_file(os.environ).exists()
