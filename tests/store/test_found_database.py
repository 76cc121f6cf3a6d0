"""Every `vigil` command finds the configuration and database `vigil serve` uses, from any folder:
--config, VIGIL_CONFIG, ./vigil.toml, then the user's config directory. A command that would
start a new empty database refuses and says where it looked, unless run with `--create`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.kernel.config import RawConfig

KEY = "found-database-audit-key-0123456789"

# Every command that opens the database (besides `vigil serve`, `vigil dev`, `vigil db migrate`).
READERS = {
    "db status": ["db", "status"],
    "audit verify": ["audit", "verify"],
    "audit export": ["audit", "export"],
    "alerts dead": ["alerts", "dead"],
    "incident export": ["incident", "export", "INC-20240101-001"],
    "check": ["check", "198.51.100.23"],
    "doctor": ["doctor"],
}


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A folder `vigil serve` runs in, another folder, and an empty user config directory."""
    folders = {name: tmp_path / name for name in ("serve", "elsewhere", "xdg")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.delenv("VIGIL_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folders["xdg"]))
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_HMAC_KEY", KEY)
    # `vigil doctor` checks the OpenID metadata too: a closed local port, not the internet.
    monkeypatch.setenv("VIGIL_OPENID_METADATA_URL", "http://127.0.0.1:9/metadata")
    return folders


def vigil(*argv: str) -> int:
    return main(list(argv))


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("command", sorted(READERS))
def test_a_command_from_another_folder_refuses_to_start_a_new_database(
    command, places, monkeypatch, capsys
):
    monkeypatch.chdir(places["serve"])
    assert vigil("db", "migrate") == 0
    monkeypatch.chdir(places["elsewhere"])

    assert vigil(*READERS[command]) != 0

    captured = capsys.readouterr()
    said = captured.out + captured.err
    assert f"no Vigil database at {places['elsewhere'] / 'vigil.db'}" in said
    assert "the default db.url, relative to the current folder" in said
    assert "--create" in said
    assert files_in(places["elsewhere"]) == []


def test_create_starts_the_new_database_when_asked(places, monkeypatch, capsys):
    monkeypatch.chdir(places["elsewhere"])
    assert vigil("--create", "alerts", "dead") == 0
    assert "vigil.db" in files_in(places["elsewhere"])
    assert vigil("db", "status") == 0
    assert "schema is current" in capsys.readouterr().out


def test_vigil_toml_in_the_folder_is_found_and_its_paths_start_there(places, monkeypatch, capsys):
    serve = places["serve"]
    (serve / "vigil.toml").write_text('[db]\nurl = "sqlite:///data.db"\n', encoding="utf-8")
    monkeypatch.chdir(serve)
    assert vigil("db", "migrate") == 0
    assert "data.db" in files_in(serve)
    capsys.readouterr()
    assert vigil("config", "check") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"configuration from {serve / 'vigil.toml'} (found as ./vigil.toml")
    assert f"database {serve / 'data.db'} (exists)" in out

    # The same file given from elsewhere names the same database, relative to the file.
    monkeypatch.chdir(places["elsewhere"])
    assert vigil("--config", str(serve / "vigil.toml"), "audit", "verify") == 0
    assert capsys.readouterr().out.startswith("intact, 0 records")
    assert files_in(places["elsewhere"]) == []


def test_the_user_config_directory_is_found_from_any_folder(places, monkeypatch, capsys):
    user = places["xdg"] / "vigil"
    user.mkdir()
    (user / "vigil.toml").write_text('[db]\nurl = "sqlite:///./vigil.db"\n', encoding="utf-8")
    monkeypatch.chdir(places["serve"])
    assert vigil("db", "migrate") == 0
    assert files_in(places["serve"]) == []
    assert (user / "vigil.db").is_file()

    monkeypatch.chdir(places["elsewhere"])
    assert vigil("db", "status") == 0
    assert vigil("config", "check") == 0
    out = capsys.readouterr().out
    assert f"configuration from {user / 'vigil.toml'} (found in $XDG_CONFIG_HOME/vigil)" in out
    assert files_in(places["elsewhere"]) == []


def test_the_local_audit_key_sits_beside_the_found_config(places, monkeypatch, capsys):
    """`vigil dev` with a user config writes its key there: any folder's CLI then finds it."""
    user = places["xdg"] / "vigil"
    (user / ".vigil" / "secrets").mkdir(parents=True)
    (user / ".vigil" / "secrets" / "audit-hmac-key").write_text(KEY, encoding="utf-8")
    (user / "vigil.toml").write_text('[db]\nurl = "sqlite:///vigil.db"\n', encoding="utf-8")
    monkeypatch.delenv("VIGIL_SECRET_AUDIT_HMAC_KEY")
    monkeypatch.chdir(places["elsewhere"])
    assert vigil("db", "migrate") == 0
    assert vigil("audit", "verify") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("intact, 0 records")


def test_the_order_config_then_env_then_folder_then_user(places, monkeypatch):
    def config_at(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "vigil.toml"
        path.write_text(f'[service]\nhost = "{folder.name}"\n', encoding="utf-8")
        return path

    given = config_at(places["serve"] / "given")
    named = config_at(places["serve"] / "named")
    here = config_at(places["elsewhere"])
    user = config_at(places["xdg"] / "vigil")
    monkeypatch.chdir(places["elsewhere"])
    monkeypatch.setenv("VIGIL_CONFIG", str(named))
    assert RawConfig.load(str(given)).source == str(given)
    assert RawConfig.load().source == str(named)
    monkeypatch.delenv("VIGIL_CONFIG")
    assert RawConfig.load().source == str(here)
    here.unlink()
    assert RawConfig.load().source == str(user)
    user.unlink()
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(places["serve"]))
    home_config = config_at(places["serve"] / ".config" / "vigil")
    assert RawConfig.load().source == str(home_config)
    home_config.unlink()
    assert RawConfig.load().source == "(defaults)"


def test_an_existing_empty_file_is_a_database_to_use(places, monkeypatch):
    """Refusal is about a missing file only: an existing one (say, made by sqlite3) is used."""
    monkeypatch.chdir(places["elsewhere"])
    sqlite3.connect(places["elsewhere"] / "vigil.db").close()
    assert vigil("alerts", "dead") == 0
