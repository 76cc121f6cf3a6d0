"""`vigil serve`, `vigil chat` and `vigil config check` as an operator runs them."""

from __future__ import annotations

import importlib
import os
import pkgutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config_report import all_settings, settings_in
from bot.kernel.config import Setting


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _vigil(*args: str, env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


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


@pytest.fixture
def local_env(tmp_path: Path) -> dict[str, str]:
    return {
        "VIGIL_PORT": str(_port()),
        "VIGIL_LOCAL_CHANNEL_PORT": str(_port()),
        "VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db",
        "VIGIL_SECRET_AUDIT_HMAC_KEY": "serve-test-audit-key-0123456789",
    }


def test_chat_talks_to_a_running_serve_local_and_sigterm_stops_it(local_env, tmp_path):
    server = _vigil("serve", "--local", env=local_env, cwd=tmp_path)
    try:
        _wait_listening(int(local_env["VIGIL_PORT"]), server)
        _wait_listening(int(local_env["VIGIL_LOCAL_CHANNEL_PORT"]), server)
        url = f"http://127.0.0.1:{local_env['VIGIL_LOCAL_CHANNEL_PORT']}"
        chat = subprocess.run(
            [sys.executable, "-m", "bot.cli", "chat", "--as", "demo", "--url", url],
            input="ping\nwhoami\n",
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **local_env},
            cwd=tmp_path,
        )
        assert chat.returncode == 0, chat.stderr
        assert "pong" in chat.stdout
        assert "Demo Admin" in chat.stdout
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_chat_as_an_unknown_user_is_refused(local_env, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--as", "mallory"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **local_env},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "no local user 'mallory'" in result.stderr


def test_serve_without_app_id_refuses_a_public_address(local_env, tmp_path):
    env = {**local_env, "VIGIL_HOST": "0.0.0.0", "VIGIL_APP_ID": ""}  # noqa: S104
    server = _vigil("serve", env=env, cwd=tmp_path)
    _, stderr = server.communicate(timeout=60)
    assert server.returncode == 2
    assert "VIGIL_APP_ID" in stderr and "0.0.0.0" in stderr  # noqa: S104


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"VIGIL_PORT": "http"}, "service.port"),
        ({"VIGIL_APP_TYPE": "Sometimes"}, "bot.app_type"),
        ({"VIGIL_DB_URL": "mysql://x"}, "db.url"),
        ({"VIGIL_LOGIN_URL": "http://login.example"}, "bot.login_url"),
        ({"VIGIL_APP_TYPE": "SingleTenant"}, "VIGIL_APP_TENANT_ID"),
    ],
)
def test_config_check_names_the_wrong_key(env, problem, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "config", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert problem in result.stdout


def test_config_check_masks_secrets(tmp_path):
    env = {"VIGIL_APP_PASSWORD": "super-secret-value-123", "VIGIL_APP_ID": "x"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "config", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout
    assert "super-secret-value-123" not in result.stdout
    assert "bot.app_password = ***" in result.stdout


@pytest.mark.parametrize("busy", ["VIGIL_PORT", "VIGIL_LOCAL_CHANNEL_PORT"])
@pytest.mark.parametrize("command", [("serve", "--local"), ("dev",)])
def test_a_busy_port_is_one_line_naming_the_setting(busy, command, local_env, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**local_env, busy: str(taken.getsockname()[1])}
        process = _vigil(*command, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL)
        try:
            out, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        f"vigil: cannot listen on 127.0.0.1:{env[busy]}: it is in use; set {busy} to a free port"
    ]


def _accepts(setting: Setting, value: str) -> bool:
    try:
        setting.parse(value)
    except (ValueError, TypeError):
        return False
    return True


def _https_only_settings() -> list[Setting]:
    """Declared settings that take an https URL and refuse plain http to a public host: found
    from the capabilities' declarations and their parsers, not listed by hand."""
    return [
        setting
        for setting in all_settings()
        if _accepts(setting, "https://vigil.example.com/api")
        and not _accepts(setting, "http://vigil.example.com/api")
    ]


def test_the_https_only_settings_include_those_read_only_when_used():
    keys = {setting.key for setting in _https_only_settings()}
    # graph.url is read at the first create-incident, containment.mde.url at the first isolation.
    assert {"graph.url", "containment.mde.url"} <= keys


@pytest.mark.parametrize("setting", _https_only_settings(), ids=lambda setting: setting.key)
def test_serve_refuses_a_plain_http_url_at_start_up(setting, local_env, tmp_path):
    env = {**local_env, setting.env: "http://vigil.example.com/api"}
    server = _vigil("serve", env=env, cwd=tmp_path)
    _, stderr = server.communicate(timeout=60)
    assert server.returncode == 2, stderr
    assert stderr.startswith("vigil: configuration error:"), stderr
    assert f"{setting.key} (env {setting.env}) = 'http://vigil.example.com/api'" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "vigil.db").exists()  # refused before anything was made


def test_every_setting_in_the_code_is_declared_so_start_up_checks_it():
    """A Setting no capability lists would be parsed only when first used: none may exist."""
    import bot

    declared = {setting.key for setting in all_settings()}
    in_code: dict[str, str] = {}
    for module in pkgutil.walk_packages(bot.__path__, "bot."):
        for setting in settings_in(list(vars(importlib.import_module(module.name)).values())):
            in_code.setdefault(setting.key, module.name)
    assert {key: name for key, name in in_code.items() if key not in declared} == {}
