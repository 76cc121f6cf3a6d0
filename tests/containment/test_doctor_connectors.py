"""`vigil doctor` checks each configured containment connector, with a fix hint when broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.devchannel.channel import LocalChannel
from bot.doctor import diagnose
from bot.kernel.config import RawConfig
from bot.store import open_store
from tests.fakes.mde import MdeFake
from tests.fakes.soar_receiver import SoarReceiver

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
    await store.close()
    return url


@pytest.fixture
async def mde(tmp_path):
    # The doctor's bot token uses the channel's app; this Defender knows the same app.
    fake = await MdeFake(app_id=APP_ID, app_password=PASSWORD).start(tmp_path)
    try:
        yield fake
    finally:
        await fake.close()


def _env(channel, db_url, tmp_path, **overrides) -> RawConfig:
    env = {
        **channel.bot_env(),
        "VIGIL_DB_URL": db_url,
        "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
        "VIGIL_RPZ_FILE": str(tmp_path / "rpz" / "vigil.rpz.zone"),
        **overrides,
    }
    return RawConfig({}, {k: v for k, v in env.items() if v is not None})


def _lines(findings, word: str) -> list[str]:
    return [f.line() for f in findings if f"connector {word}" in f.what]


def _bundle(path: Path, *pems: str) -> Path:
    path.write_text("".join(Path(pem).read_text() for pem in pems))
    return path


async def test_mde_and_rpz_checked(channel, db_url, tmp_path, mde):
    bundle = _bundle(tmp_path / "bundle.pem", channel.ca_file, mde.ca_path)
    raw = _env(
        channel,
        db_url,
        tmp_path,
        VIGIL_CA_BUNDLE=str(bundle),
        VIGIL_MDE_URL=mde.url,
        VIGIL_AAD_AUTHORITY=mde.authority,
    )
    # A tenant where no machine reported recently: List machines answers 404 (documented).
    [empty] = _lines(await diagnose(raw), "mde")
    assert empty.startswith("✓") and "answered 404 (no machines reported recently)" in empty
    mde.add_machine("ws-fin-042.corp.example.com")
    findings = await diagnose(raw)
    [mde_line] = _lines(findings, "mde")
    assert mde_line.startswith("✓") and "answered 200" in mde_line
    [rpz_line] = _lines(findings, "rpz")
    assert rpz_line.startswith("✓") and "will be created" in rpz_line
    assert not (tmp_path / "rpz").exists()  # the doctor changes nothing
    mde.permissions.clear()
    [broken] = _lines(await diagnose(raw), "mde")
    assert broken.startswith("✗") and "Machine.Read.All" in broken and "fix:" in broken


async def test_soar_without_key_and_a_foreign_zone_file(channel, db_url, tmp_path):
    receiver = await SoarReceiver(["k" * 32]).start()
    try:
        zone = tmp_path / "rpz" / "vigil.rpz.zone"
        zone.parent.mkdir()
        zone.write_text("$INCLUDE /etc/passwd\n")
        soar = {
            "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "soar",
            "VIGIL_SOAR_WEBHOOK_URL": receiver.url,
        }
        findings = await diagnose(_env(channel, db_url, tmp_path, **soar))
        [soar_line] = _lines(findings, "soar")
        assert soar_line.startswith("✗") and "soar-webhook-hmac-key" in soar_line
        [rpz_line] = _lines(findings, "rpz")
        assert rpz_line.startswith("✗") and "not written by Vigil" in rpz_line
        keyed = _env(channel, db_url, tmp_path, **soar, VIGIL_SECRET_SOAR_WEBHOOK_HMAC_KEY="k" * 32)
        [soar_ok] = _lines(await diagnose(keyed), "soar")
        assert soar_ok.startswith("✓") and "k" * 32 not in soar_ok
    finally:
        await receiver.close()
