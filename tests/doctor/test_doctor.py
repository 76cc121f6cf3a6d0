"""`vigil doctor` on a healthy set-up and on broken ones, against the local channel."""

from __future__ import annotations

import sqlite3

import pytest

from bot.audit.log import AuditEntry, AuditLog
from bot.devchannel.channel import LocalChannel
from bot.doctor import diagnose
from bot.kernel.config import RawConfig
from bot.store import open_store

APP_ID = "33333333-4444-4555-8666-777777777777"
PASSWORD = "doctor-test-password"
AUDIT_KEY = "doctor-audit-key-0123456789abcdef"


@pytest.fixture
async def channel():
    async with LocalChannel(app_id=APP_ID, app_password=PASSWORD) as channel:
        yield channel


@pytest.fixture
async def db_url(tmp_path):
    url = f"sqlite:///{tmp_path}/vigil.db"
    store = await open_store(url)
    await store.migrate()
    log = AuditLog(store, AUDIT_KEY.encode())
    await log.append(AuditEntry(actor_id="a", actor_name="Ann", action="command:ping"))
    await store.close()
    return url


def _env(channel: LocalChannel, db_url: str, **overrides: str) -> RawConfig:
    env = {
        **channel.bot_env(),
        "VIGIL_DB_URL": db_url,
        "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
        # No Defender here; tests/containment/test_doctor_connectors.py checks the connectors.
        "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "none",
        **overrides,
    }
    return RawConfig({}, {k: v for k, v in env.items() if v is not None})


def _failed(findings) -> list[str]:
    return [f.what for f in findings if not f.ok]


async def test_healthy_setup_is_all_green(channel, db_url):
    findings = await diagnose(_env(channel, db_url))
    assert _failed(findings) == []
    text = "\n".join(f.line() for f in findings)
    for expected in (
        "configuration valid",
        "store reachable and migrated",
        "secret audit-hmac-key present",
        "Bot Framework token obtained",
        "OpenID metadata reachable",
        "clock skew",
        "audit chain intact, 1 records",
    ):
        assert expected in text
    assert PASSWORD not in text and AUDIT_KEY not in text


async def test_wrong_password_and_missing_audit_key(channel, db_url):
    raw = _env(
        channel, db_url, VIGIL_APP_PASSWORD="not-the-password", VIGIL_SECRET_AUDIT_HMAC_KEY=None
    )
    findings = await diagnose(raw)
    failed = " | ".join(_failed(findings))
    assert "Bot Framework token not obtainable" in failed
    assert "secret audit-hmac-key: not configured: audit-hmac-key" in failed
    assert "not-the-password" not in " ".join(f.line() for f in findings)
    fixes = [f.fix for f in findings if not f.ok]
    assert all(fixes)


async def test_pending_migrations_and_unreachable_metadata(channel, tmp_path):
    sqlite3.connect(tmp_path / "fresh.db").close()  # a database made, never migrated
    raw = _env(
        channel,
        f"sqlite:///{tmp_path}/fresh.db",
        VIGIL_OPENID_METADATA_URL="http://127.0.0.1:9/metadata",
    )
    failed = " | ".join(_failed(await diagnose(raw)))
    assert "migrations pending" in failed
    assert "OpenID metadata unreachable" in failed


async def test_tampered_audit_chain_is_reported(channel, db_url):
    store = await open_store(db_url)
    triggers = await store.fetchall("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    for trigger in triggers:
        await store.execute(f'DROP TRIGGER "{trigger["name"]}"')
    await store.execute("UPDATE audit_log SET target = 'forged'")
    await store.close()
    failed = " | ".join(_failed(await diagnose(_env(channel, db_url))))
    assert "audit chain broken at record 1: edited" in failed


async def test_bad_config_stops_the_other_checks(channel, db_url):
    findings = await diagnose(_env(channel, db_url, VIGIL_PORT="eighty"))
    assert not findings[0].ok and "service.port" in findings[0].what
    # What needs valid settings is not tried; the store check does not need them.
    assert not any("token" in f.what or "OpenID" in f.what for f in findings)


def test_cli_exit_status_and_hints(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VIGIL_PORT": "eighty", "VIGIL_DB_URL": f"sqlite:///{tmp_path}/x.db"},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "✗ configuration: service.port" in result.stdout
    assert "fix:" in result.stdout
