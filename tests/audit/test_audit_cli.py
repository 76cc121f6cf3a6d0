"""`vigil audit verify` and `vigil audit export` through argparse, with real stores."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sqlite3

import pytest

from bot.audit import cli as audit_cli
from bot.audit.log import AuditEntry, AuditLog
from bot.store import open_store
from tests.audit.tamper import bypass_triggers

KEY_TEXT = "correct horse battery staple audit key"
KEY = KEY_TEXT.encode()


def run(*argv: str) -> int:
    """Parse like `vigil` does and run the command's function."""
    parser = argparse.ArgumentParser(prog="vigil")
    parser.add_argument("--config")
    audit_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return asyncio.run(args.func(args))


async def _seed(url: str, clock=None, **entry) -> None:
    store = await open_store(url)
    try:
        await store.migrate()
        log = AuditLog(store, KEY, **({"clock": clock} if clock else {}))
        for i in range(3):
            await log.append(
                AuditEntry("aad-1", "Ada", "check-ip", ("admin",), target=f"t{i}", **entry)
            )
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, monkeypatch) -> str:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    if request.param == "sqlite":
        # The database exists, as where `vigil serve` ran; the CLI never starts a new one.
        sqlite3.connect(url.removeprefix("sqlite:///")).close()
    monkeypatch.setenv("VIGIL_DB_URL", url)
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_HMAC_KEY", KEY_TEXT)
    monkeypatch.delenv("VIGIL_KEYVAULT_URL", raising=False)
    return url


def test_verify_intact(db: str, capsys) -> None:
    asyncio.run(_seed(db))
    assert run("audit", "verify") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("intact, 3 records, head ")
    assert KEY_TEXT not in captured.out + captured.err


def test_verify_tampered(db: str, capsys) -> None:
    asyncio.run(_seed(db))

    async def tamper() -> None:
        store = await open_store(db)
        await bypass_triggers(store)
        await store.execute("UPDATE audit_log SET target = 'other' WHERE seq = 2")
        await store.close()

    asyncio.run(tamper())
    assert run("audit", "verify") == 1
    assert capsys.readouterr().out.startswith("broken at record 2: edited")


def test_verify_with_wrong_key(db: str, monkeypatch, capsys) -> None:
    asyncio.run(_seed(db))
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_HMAC_KEY", "a different key of enough length")
    assert run("audit", "verify") == 1
    assert "bad MAC" in capsys.readouterr().out


def test_verify_without_key_or_schema(db: str, monkeypatch, capsys) -> None:
    monkeypatch.delenv("VIGIL_SECRET_AUDIT_HMAC_KEY")
    assert run("audit", "verify") == 2
    assert "audit-hmac-key" in capsys.readouterr().err
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_HMAC_KEY", KEY_TEXT)
    assert run("audit", "verify") == 2  # not migrated: no audit table
    assert "cannot read the audit log" in capsys.readouterr().err


def test_export_jsonl_and_csv(db: str, tmp_path, capsys) -> None:
    times = iter([1_700_000_000.0, 1_700_000_100.0, 1_700_000_200.0]).__next__
    asyncio.run(_seed(db, clock=times, parameters={"query": '=HYPERLINK("x")'}))
    assert run("audit", "export", "--since", "2023-11-14T22:14:00Z") == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [2, 3]
    assert records[0]["time"] == "2023-11-14T22:15:00.000000+00:00"
    assert records[0]["parameters"] == {"query": '=HYPERLINK("x")'}

    out = tmp_path / "audit.csv"
    assert (
        run("audit", "export", "--until", "2023-11-14T22:15:01", "--format", "csv", "-o", str(out))
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["seq"] for row in rows] == ["1", "2"]
    assert rows[0]["actor_roles"] == '["admin"]'
    assert rows[0]["parameters"].startswith('{"query"')


def test_csv_cells_never_start_a_formula(db: str, capsys) -> None:
    asyncio.run(_seed(db, detail="=cmd|' /C calc'!A0", result="error"))
    assert run("audit", "export", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["result_detail"] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "export", "--since", "yesterday"],
        ["audit", "export", "--format", "xml"],
        ["audit", "frobnicate"],
    ],
)
def test_bad_arguments_are_usage_errors(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        run(*argv)
    assert info.value.code == 2


def test_since_after_until(db: str, capsys) -> None:
    assert run("audit", "export", "--since", "2024-02-01", "--until", "2024-01-01") == 2
    assert "--since must be before --until" in capsys.readouterr().err
