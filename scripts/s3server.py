"""A real S3-compatible server on this machine: moto's standalone `moto_server`.

It runs as a subprocess on 127.0.0.1 and a free port and speaks S3 over HTTP, so the handler
goes through boto3's real HTTP stack (not an in-process mock). scripts/check_lambda_zip.py
runs the unpacked Lambda zip against it, and tests/conftest.py uses it for the serverless
tests (the `server` fixture).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_command() -> list[str] | None:
    """How to start moto's server with this interpreter's install, or None if missing."""
    script = Path(sys.executable).with_name("moto_server")
    if script.exists():
        return [str(script)]
    found = shutil.which("moto_server")
    return [found] if found else None


class MotoServer:
    """Start with `MotoServer.start()`, stop with `.stop()`; `endpoint` is its http URL."""

    def __init__(self, process: subprocess.Popen, endpoint: str) -> None:
        self.process = process
        self.endpoint = endpoint

    @classmethod
    def start(cls, timeout: float = 30.0) -> MotoServer:
        command = moto_command()
        if command is None:
            raise RuntimeError("moto_server not found: pip install 'moto[server]'")
        port = free_port()
        process = subprocess.Popen([*command, "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env={**os.environ, **DUMMY_ENV})
        server = cls(process, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited with code {process.returncode}")
            try:
                urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=1).close()
                return server
            except OSError:
                time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"moto_server did not answer on {server.endpoint} in {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def reset(self) -> None:
        """Delete every bucket and object (moto's own reset endpoint)."""
        self._post("/moto-api/reset", b"")

    def set_auth(self, enabled: bool) -> None:
        """Turn IAM authorization on (every request checked against IAM policies) or off."""
        self._post("/moto-api/reset-auth", b"0" if enabled else b"inf")

    def _post(self, path: str, data: bytes) -> dict:
        request = urllib.request.Request(self.endpoint + path, data=data, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else {}

    def env(self) -> dict[str, str]:
        """Environment that points boto3 at this server with dummy credentials."""
        return {**DUMMY_ENV, "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ENDPOINT_URL_S3": self.endpoint}
