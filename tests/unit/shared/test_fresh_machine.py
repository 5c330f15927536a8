"""A fresh Debian 12 machine: the Makefile says what to install, and a web process starts without warnings."""
import subprocess
import sys

from tests.support.processes import ROOT


def test_make_without_python_says_what_to_install():
    result = subprocess.run(["make", "-B", "PYTHON=", "test-fast"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "-m: command not found" not in result.stderr
    assert "install Python 3.11 first" in result.stderr and "apt-get install python3" in result.stderr


def test_the_web_entry_point_imports_eventlet_without_a_deprecation_warning():
    result = subprocess.run([sys.executable, "-W", "default", "-c", "import shared.runtime.web"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "EventletDeprecationWarning" not in result.stderr
