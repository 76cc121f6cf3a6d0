"""The database the configuration names, found the same way by every `vigil` command.

A relative SQLite path in a config file starts from that file's folder, so a file in the user's
config directory names one database wherever a command runs. A command run where no database is
(another folder, a typo in the path) would silently start a new, empty one: it refuses instead,
naming the path and why it looked there, unless it was asked to create it.
"""

from __future__ import annotations

from pathlib import Path

from bot.kernel.config import RawConfig
from bot.store.base import Store, StoreError
from bot.store.url import DB_URL, parse_store_url

MEMORY = ":memory:"


class NoDatabase(StoreError):
    """The configured SQLite file does not exist and the command was not asked to create it."""


def configured_url(raw: RawConfig) -> str:
    """`db.url`, with a relative SQLite path from a config file made absolute from its folder.

    A path from VIGIL_DB_URL or the default stays relative to the current folder, as before."""
    url = raw.get(DB_URL)
    if not raw.in_file(DB_URL):
        return url
    parsed = parse_store_url(url)
    if parsed.dialect != "sqlite" or parsed.path == MEMORY or Path(parsed.path).is_absolute():
        return url
    return f"sqlite:///{raw.base_directory / parsed.path}"


def _named_by(raw: RawConfig) -> str:
    if DB_URL.env in raw.environ:
        return DB_URL.env
    if raw.in_file(DB_URL):
        return f"db.url in {raw.source}"
    return "the default db.url, relative to the current folder"


def check_exists(raw: RawConfig, url: str) -> None:
    """NoDatabase when `url` names a SQLite file that does not exist yet."""
    parsed = parse_store_url(url)
    if parsed.dialect != "sqlite" or parsed.path == MEMORY:
        return
    path = Path(parsed.path)
    if not path.exists():
        raise NoDatabase(
            f"no Vigil database at {path.resolve()} ({_named_by(raw)}); run this where "
            "`vigil serve` runs, name the database with VIGIL_DB_URL or a config file "
            "(--config, VIGIL_CONFIG, ./vigil.toml, ~/.config/vigil/vigil.toml), "
            "or add --create (`vigil --create COMMAND`) to start a new empty one"
        )


async def open_configured_store(raw: RawConfig, *, create: bool = False) -> Store:
    """The configured store; a SQLite file that does not exist yet is made only when `create`."""
    from bot.store import open_store  # the package imports this module: import at call time

    url = configured_url(raw)
    if not create:
        check_exists(raw, url)
    return await open_store(url)
