"""README's `make run`, in a fresh clone: it installs, starts the broker and the four services,
serves the first flow, and Ctrl-C leaves no process behind. (`make test` in a fresh clone is what
CI runs.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from shared.broker import port_open
from shared.config import REPO_ROOT
from tests.factories import enterprise_body
from tests.harness import auth, wait_for

pytestmark = pytest.mark.slow
PORTS = (9092, 8001, 8002, 8003, 8004)


def _processes_under(path: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if path in line and "ps -eo" not in line]


def test_make_run_in_a_fresh_clone(tmp_path):
    busy = [p for p in PORTS if port_open("127.0.0.1", p)]
    if busy:
        pytest.skip(f"ports {busy} are in use on this machine (is `make run` already running?)")
    clone = tmp_path / "ipbridge"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "IPBRIDGE_", "REGISTRY_", "FINANCING_", "MATCHING_",
                                "REWARDS_", "VIRTUAL_ENV", "PYTEST"))}
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "Ctrl-C stops everything" in log_path.read_text(errors="replace")
                 or proc.poll() is not None, timeout=300, interval=0.5, what="make run to start")
        output = log_path.read_text(errors="replace")
        assert proc.poll() is None, output[-3000:]
        for port in (8001, 8002, 8003, 8004):
            assert f"http://127.0.0.1:{port}/docs" in output
        assert (clone / "var" / "registry.db").exists()

        body = enterprise_body()
        resp = httpx.post("http://127.0.0.1:8001/v1/enterprises", json=body, headers=auth())
        assert resp.status_code == 201, resp.text
        for port in (8002, 8003, 8004):
            wait_for(lambda port=port: httpx.get(
                f"http://127.0.0.1:{port}/v1/enterprises/{body['uscc']}",
                headers=auth("auditor")).status_code == 200, what=f"projection on :{port}")
        assert httpx.get("http://127.0.0.1:8001/docs").status_code == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)     # what Ctrl-C in the terminal does
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    output = log_path.read_text(errors="replace")
    assert "stopped" in output, output[-2000:]
    deadline = time.monotonic() + 10
    while _processes_under(str(clone)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_under(str(clone)) == [], "orphan processes after Ctrl-C"
    assert not any(port_open("127.0.0.1", p) for p in PORTS)
    assert code in (0, 2, 130, -signal.SIGINT), code
