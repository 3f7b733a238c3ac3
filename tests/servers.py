"""`reroute serve` processes for tests that need real servers on loopback (two processes on
one database, a crash in the middle): started on free ports, logs kept, stopped on the way out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT = 60.0

HOST = "127.0.0.1"
SERVE = [sys.executable, "-m", "reroute", "serve", "--no-worker"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def errors(self, most: int = 3) -> list[str]:
        """The first few unexpected errors the server logged: the request, the frames of the
        application's own code, and the exceptions."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        found: list[list[str]] = []
        lines = text.splitlines()
        for n, line in enumerate(lines):
            if "unexpected error on" in line:
                found.append([line.strip()])
            elif "Exception in ASGI application" in line:
                found.append([])  # the same error again, as the server saw it
            elif found and found[-1] and "/reroute/" in line and line.lstrip().startswith("File"):
                frame = line.strip().split("/src/")[-1]
                code = lines[n + 1].strip() if n + 1 < len(lines) else ""
                found[-1].append(f"    {frame}: {code}")
            elif (
                found
                and found[-1]
                and line
                and not line[0].isspace()
                and not line.startswith(("Traceback", "The above", "During handling"))
            ):
                found[-1].append(f"    {line.strip()}")
        # a chained error repeats its detail: each line once
        return ["\n".join(dict.fromkeys(block)) for block in found if block][:most]

    def error_count(self) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("unexpected error on")


@contextmanager
def servers(database_url: str, logs: Path, count: int) -> Iterator[list[Server]]:
    """`count` `reroute serve --no-worker` processes on one database, stopped on the way out."""
    env = {
        **os.environ,
        "REROUTE_DATABASE_URL": database_url,
        "REROUTE_LOG_LEVEL": "warning",
        "REROUTE_SESSION_SECRET": uuid.uuid4().hex,
        "REROUTE_MFG_ID": "11111",
    }
    started: list[Server] = []
    with ExitStack() as stack:
        for n in range(count):
            port = _free_port()
            log = logs / f"server-{n}.log"
            out = stack.enter_context(log.open("wb"))
            process = subprocess.Popen(
                [*SERVE, "--host", HOST, "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            started.append(Server(f"http://{HOST}:{port}", log, process))
        try:
            for server in started:
                _wait_until_up(server)
            yield started
        finally:
            for server in started:
                _stop(server.process)


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"The server exited at start:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"The server did not answer within {START_TIMEOUT:.0f} s:\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
