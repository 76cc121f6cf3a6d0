"""A wrong connector setting stops start-up naming the key (not the first approved action)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import start_vigil, stop_vigil
from bot.containment.registry import CONNECTORS
from bot.kernel.config import ConfigError, RawConfig

AUDIT = {"VIGIL_SECRET_AUDIT_HMAC_KEY": "startup-test-audit-key-0123456789"}

BAD = [
    ({"VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "dns"}, "containment.block_connector"),
    ({"VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "rpz"}, "containment.isolate_connector"),
    ({"VIGIL_SOAR_WEBHOOK_URL": "http://soar.example.com/hook"}, "containment.soar.url"),
    ({"VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "soar"}, "containment.soar.url"),
    ({"VIGIL_RPZ_ZONE": "not a zone!"}, "containment.rpz.zone"),
    ({"VIGIL_MDE_URL": "ftp://mde.example.com"}, "containment.mde.url"),
    ({"VIGIL_AAD_AUTHORITY": "http://login.example.com/t"}, "graph.authority"),
    ({"VIGIL_CONTAINMENT_LEASE_SECONDS": "0"}, "containment.execution.lease_seconds"),
]


@pytest.mark.parametrize(("env", "key"), BAD)
async def test_start_vigil_refuses_a_bad_connector_setting(tmp_path, env, key):
    environ = {**AUDIT, "VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db", **env}
    with pytest.raises(ConfigError) as caught:
        vigil = await start_vigil(RawConfig({}, environ))
        await stop_vigil(vigil, 1)  # only reached if the bad value was accepted
    assert key in str(caught.value)


async def test_start_vigil_accepts_the_defaults_and_builds_the_connectors(tmp_path):
    environ = {**AUDIT, "VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db"}
    vigil = await start_vigil(RawConfig({}, environ))
    try:
        built = vigil.services.built(CONNECTORS)
        assert sorted(connector.name for connector in built.all()) == ["mde", "rpz"]
    finally:
        await stop_vigil(vigil, 1)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_vigil_serve_exits_non_zero_naming_the_key(tmp_path: Path):
    env = {
        **os.environ,
        **AUDIT,
        "VIGIL_PORT": str(_port()),
        "VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db",
        "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "soar",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "containment.soar.url" in result.stderr and "VIGIL_SOAR_WEBHOOK_URL" in result.stderr
    assert "configuration error" in result.stderr
