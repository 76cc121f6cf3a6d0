"""The `vigil` command line: each area registers its own subcommands here."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Sequence

from bot.capabilities import CAPABILITIES

# Verbs of the service itself; each module has `register(subparsers)`, adding subcommands whose
# `func(args)` returns an exit status (sync or async). Capabilities declare their own verbs.
KERNEL_COMMAND_MODULES: tuple[str, ...] = (
    "bot.service_cli",
    "bot.store.cli",
    "bot.doctor",
    "cards.cli",
    "bot.package",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description="Vigil security ChatOps bot")
    parser.add_argument(
        "--config",
        help="TOML configuration file (else VIGIL_CONFIG, ./vigil.toml, "
        "then $XDG_CONFIG_HOME/vigil/vigil.toml or ~/.config/vigil/vigil.toml)",
    )
    parser.add_argument(
        "--create",
        action="store_true",
        help="let the command start a new empty SQLite database where none exists yet",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in KERNEL_COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for capability in CAPABILITIES:
        for register in capability.cli:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    result = func(args)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
