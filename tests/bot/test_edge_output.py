"""Every CLI output path (`incident export --output`, `audit export --output`, `package --out`)
refuses a symlink and a missing directory with a clear message and exit 2, and writes through a
temporary file renamed into place."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.audit.log import AuditEntry, AuditLog
from bot.cli import main
from bot.incidents import records
from bot.kernel.output_file import OutputRefused, replaced_on_success
from bot.store import open_store
from tests.bot.harness import APP_ID, AUDIT_KEY


async def _seed(url: str) -> str:
    async with await open_store(url) as store:
        await store.migrate()
        await AuditLog(store, AUDIT_KEY.encode()).append(
            AuditEntry("aad-1", "Ada", "check-ip", ("admin",), target="t")
        )
        incident = await records.create(
            store,
            title="Phishing wave finance",
            severity=records.Severity.HIGH,
            opened_by_id="a",
            opened_by_name="Ann",
        )
        return incident.id


@pytest.fixture
def incident_id(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path}/v.db"
    monkeypatch.setenv("VIGIL_DB_URL", url)
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_HMAC_KEY", AUDIT_KEY)
    monkeypatch.delenv("VIGIL_KEYVAULT_URL", raising=False)
    return asyncio.run(_seed(url))


def _commands(incident_id: str, out: Path) -> dict[str, list[str]]:
    return {
        "incident export": ["incident", "export", incident_id, "--output", str(out)],
        "audit export": ["audit", "export", "--output", str(out)],
        "package": ["package", "--app-id", APP_ID, "--name", "Vigil", "--out", str(out)],
    }


COMMANDS = ("incident export", "audit export", "package")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_symlink_target_is_refused_and_not_followed(tmp_path, incident_id, capsys, command):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    link = tmp_path / "out"
    link.symlink_to(victim)

    status = main(_commands(incident_id, link)[command])

    err = capsys.readouterr().err
    assert status == 2
    assert "symbolic link" in err
    assert "Traceback" not in err
    assert victim.read_text() == "do not touch"
    assert link.is_symlink()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_directory_is_refused(tmp_path, incident_id, capsys, command):
    out = tmp_path / "no-such-dir" / "out"

    status = main(_commands(incident_id, out)[command])

    err = capsys.readouterr().err
    assert status == 2
    assert "does not exist" in err
    assert "Traceback" not in err
    assert not out.parent.exists()


@pytest.mark.parametrize("command", ("incident export", "audit export"))
def test_a_directory_as_output_is_refused(tmp_path, incident_id, capsys, command):
    status = main(_commands(incident_id, tmp_path)[command])
    assert status == 2
    assert "is a directory" in capsys.readouterr().err


def test_missing_directory_and_missing_incident_have_different_codes(tmp_path, incident_id, capsys):
    assert main(["incident", "export", "INC-20990101-001"]) == 1
    missing_dir = str(tmp_path / "nope" / "x.md")
    assert main(["incident", "export", incident_id, "--output", missing_dir]) == 2


def test_exports_replace_an_existing_file_and_leave_no_temporary(tmp_path, incident_id):
    out = tmp_path / "export.json"
    out.write_text("old")
    argv = ["incident", "export", incident_id, "--format", "json", "--output", str(out)]

    assert main(argv) == 0
    assert json.loads(out.read_text())["incident"]["id"] == incident_id
    assert main(["audit", "export", "--output", str(out)]) == 0
    assert json.loads(out.read_text().splitlines()[0])["action"] == "check-ip"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export.json", "v.db"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "export.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError), replaced_on_success(out) as handle:
        handle.write("half")
        raise RuntimeError("the store went away mid-export")
    assert out.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["export.txt"]


def test_a_symlink_planted_after_the_check_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    out = tmp_path / "export.txt"
    with replaced_on_success(out) as handle:
        out.symlink_to(victim)
        handle.write("new")
    assert victim.read_text() == "do not touch"
    assert not out.is_symlink()
    assert out.read_text() == "new"
    with pytest.raises(OutputRefused):
        with replaced_on_success(tmp_path / "missing" / "x"):
            pass
