"""`make run` refuses to start beside another system instead of sharing its var dir or its ports."""
import os
import socket
import subprocess
import sys

import pytest

from shared.runtime.supervisor import StartRefused, check_ports, hold_var_dir
from tests.support.processes import ROOT, free_port


def test_a_second_supervisor_on_the_same_var_dir_is_refused_naming_the_first(tmp_path):
    first = hold_var_dir(tmp_path)
    try:
        with pytest.raises(StartRefused, match=rf"pid {os.getpid()}\) is running with var dir {tmp_path}"):
            hold_var_dir(tmp_path)
    finally:
        os.close(first)
    os.close(hold_var_dir(tmp_path))  # free again once the first is gone


def test_a_port_held_by_another_system_is_refused_even_with_so_reuseport():
    port = free_port()
    with socket.socket() as other:  # another system's web server, as nameko/eventlet binds it
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("0.0.0.0", port))
        other.listen()
        with pytest.raises(StartRefused, match=rf"port {port} \(casework\) is held by another process"):
            check_ports({"intake": free_port(), "casework": port})


def test_one_port_for_every_service_is_refused():
    port = free_port()
    with pytest.raises(StartRefused, match=f"intake and casework would both listen on port {port}"):
        check_ports({"intake": port, "casework": port})


def test_the_supervisor_exits_at_once_saying_why(tmp_path):
    held = hold_var_dir(tmp_path)
    try:
        env = os.environ | {"YISHI_VAR_DIR": str(tmp_path)}
        result = subprocess.run([sys.executable, "-m", "shared.runtime.supervisor"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
    finally:
        os.close(held)
    assert result.returncode == 1
    assert "not starting: another yishi supervisor" in result.stderr
