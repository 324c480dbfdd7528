"""`socialdesk serve` as a real process, for tests that need one: a free port to give it, and a
wait until it answers /readyz (failing with its log when it died instead)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx2


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(
    base: str, server: subprocess.Popen[bytes], log: Path, *, timeout: float = 30
) -> None:
    """Return once `base`/readyz answers 200; fail with the server's log if it exits first or
    the deadline passes (a process starts in seconds, slower on a busy machine)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx2.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{base} was not ready in {timeout:.0f} s"
        time.sleep(0.1)
