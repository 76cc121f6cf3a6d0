"""Local secret backends: environment variables and a directory with one file per secret."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.kernel.config import RawConfig, Setting, parse_str
from bot.secrets.source import Secret, SecretNotFound, SecretUnavailable, check_name

MAX_FILE_BYTES = 64 * 1024


def parse_directory(value: Any) -> str:
    text = parse_str(value).strip()
    if text and not Path(text).is_dir():
        raise ValueError("expected the path of an existing directory")
    return text


SECRETS_DIR = Setting(
    "secrets.dir",
    "VIGIL_SECRETS_DIR",
    parse_directory,
    "",
    "directory with one file per secret, named like the secret (a mounted volume)",
)


def local_secrets_dir(raw: RawConfig) -> Path:
    """Where `vigil dev` / `vigil serve --local` keep the secrets they generate (the audit key):
    `.vigil/secrets` beside the config file, or in the current folder when there is none. Every
    command that finds the same configuration finds the same key; nothing else reads it."""
    return raw.base_directory / ".vigil" / "secrets"


def env_name(name: str) -> str:
    """The environment variable holding secret `name`: VIGIL_SECRET_ plus NAME with - as _."""
    return "VIGIL_SECRET_" + check_name(name).upper().replace("-", "_")


class EnvSecretSource:
    """Secrets from VIGIL_SECRET_<NAME> variables, read once from the given environment."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)

    async def get(self, name: str) -> Secret:
        value = self._environ.get(env_name(name), "")
        if not value:
            raise SecretNotFound(name)
        return Secret(name, value)

    def invalidate(self, name: str) -> None:
        """Nothing to drop: the environment cannot change under a running process."""

    async def close(self) -> None:
        return None


class DirectorySecretSource:
    """Secrets from files `<directory>/<name>`; one trailing newline is dropped."""

    def __init__(self, directory: str | Path) -> None:
        self._directory = Path(directory)

    async def get(self, name: str) -> Secret:
        path = self._directory / check_name(name)
        return Secret(name, await asyncio.to_thread(self._read, name, path))

    @staticmethod
    def _read(name: str, path: Path) -> str:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise SecretNotFound(name) from None
        except OSError as exc:
            # The errno text only: the path is fine to show, the content never is.
            raise SecretUnavailable(name, f"cannot read secret file: {exc.strerror}") from None
        if len(data) > MAX_FILE_BYTES:
            raise SecretUnavailable(name, f"secret file larger than {MAX_FILE_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretUnavailable(name, "secret file is not UTF-8") from None
        text = text.removesuffix("\n").removesuffix("\r")
        if not text:
            raise SecretNotFound(name)
        return text

    def invalidate(self, name: str) -> None:
        """Nothing to drop: every get reads the file again."""

    async def close(self) -> None:
        return None
