"""`vigil db migrate` and `vigil db status` through the real command line."""

from __future__ import annotations

import pytest

from bot.cli import main


def test_status_migrate_status(sqlite_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("VIGIL_DB_URL", sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    assert main(["db", "status"]) == 1
    assert f"no Vigil database at {path} (VIGIL_DB_URL" in capsys.readouterr().out
    assert main(["--create", "db", "status"]) == 1
    assert "pending 0001_core" in capsys.readouterr().out
    assert main(["db", "migrate"]) == 0
    assert "applied 0001_core" in capsys.readouterr().out
    assert main(["db", "migrate"]) == 0
    assert "schema is current" in capsys.readouterr().out
    assert main(["db", "status"]) == 0


def test_migrate_on_postgresql(pg_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("VIGIL_DB_URL", pg_url)
    assert main(["db", "migrate"]) == 0
    assert main(["db", "status"]) == 0
    assert "(postgresql)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "url",
    ["mysql://root:hunter2@127.0.0.1/db", "postgresql://postgres:hunter2@127.0.0.1:1/test"],
)
def test_bad_or_unreachable_database(url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("VIGIL_DB_URL", url)
    assert main(["db", "status"]) == 1
    assert main(["db", "migrate"]) == 1
    out = capsys.readouterr().out
    assert "error:" in out and "hunter2" not in out
