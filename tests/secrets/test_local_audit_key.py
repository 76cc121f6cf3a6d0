"""Local mode writes its own audit key; the CLI run from the same directory finds it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("vigil did not start listening")


def test_audit_verify_finds_the_key_serve_local_wrote(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env |= {
        "VIGIL_PORT": str(_port()),
        "VIGIL_LOCAL_CHANNEL_PORT": str(_port()),
        "VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--local"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_listening(int(env["VIGIL_LOCAL_CHANNEL_PORT"]), server)
        chat = subprocess.run(
            [sys.executable, "-m", "bot.cli", "chat", "--as", "demo"],
            input="ping\n",
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
        assert "pong" in chat.stdout, chat.stderr
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert (tmp_path / ".vigil" / "secrets" / "audit-hmac-key").stat().st_mode & 0o077 == 0
    verify = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert verify.returncode == 0, verify.stderr
    assert "intact" in verify.stdout
    # Elsewhere, with no key configured, the CLI still says what is missing.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=elsewhere,
    )
    assert refused.returncode == 2 and "audit-hmac-key" in refused.stderr
