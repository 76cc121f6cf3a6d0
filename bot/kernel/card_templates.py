"""`VIGIL_CARDS_DIR` (`[cards] dir`): the admin's override card templates, checked at start-up.

The directory's templates are checked by cards.overrides (the official adaptivecards parser at
1.5 through node, Teams' limits, hostile data inert, supported functions only); any problem
stops `vigil serve` and is reported by `vigil config check`. The same check runs once per
version of the directory's files, however many areas ask.
"""

from __future__ import annotations

from pathlib import Path

from bot.kernel.config import ConfigError, RawConfig, Setting
from cards import catalog, jstools, overrides


def parse_cards_dir(value: object) -> str:
    path = Path(str(value).strip()).expanduser()
    if not path.is_dir():
        raise ValueError(f"{path} is not a directory")
    return str(path.resolve())


CARDS_DIR = Setting(
    "cards.dir",
    "VIGIL_CARDS_DIR",
    parse_cards_dir,
    "",
    "directory of override card templates (NAME.json replaces a shipped card,"
    " CONTRACT/NEW_NAME.json adds one); see docs/cards.md",
)

_checked: dict[tuple, catalog.Installed] = {}


def load_overrides(raw: RawConfig) -> catalog.Installed:
    """The checked override templates of the configured directory (none when unset)."""
    directory = raw.get(CARDS_DIR)
    if not directory:
        return catalog.Installed()
    files = sorted(p for p in Path(directory).rglob("*") if p.is_file())
    key = (directory, tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    if key not in _checked:
        try:
            _checked[key] = overrides.load(directory)
        except overrides.OverrideError as exc:
            raise ConfigError(f"cards.dir ({directory}) is refused:\n{exc}") from None
        except jstools.ToolingMissing as exc:
            raise ConfigError(
                f"cards.dir ({directory}): checking override templates needs node: {exc}"
            ) from None
    return _checked[key]


def install_from_config(raw: RawConfig) -> None:
    """Render with the configured overrides from now on (the shipped templates when unset)."""
    catalog.install(load_overrides(raw))
