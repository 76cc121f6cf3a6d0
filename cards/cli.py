"""`vigil card list` and `vigil card render NAME --data FILE`: preview and diff cards.

Both use the override templates of `VIGIL_CARDS_DIR` (`[cards] dir`), checked as `vigil serve`
checks them, so `vigil card render alert --data alert.json` previews an admin's own card.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.kernel.card_templates import install_from_config
from bot.kernel.config import ConfigError, RawConfig
from cards import catalog
from cards.render import render


def register(subparsers: Any) -> None:
    """Add the `card` command group to the `vigil` parser."""
    card = subparsers.add_parser("card", help="list and render Adaptive Card templates")
    commands = card.add_subparsers(dest="card_command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser("list", help="list the card templates")
    listing.set_defaults(func=list_templates)

    rendering = commands.add_parser("render", help="print a card expanded with data as JSON")
    rendering.add_argument("name", help="template name (see `vigil card list`)")
    rendering.add_argument(
        "--data", help="JSON data file ('-' for stdin); default: the template's sample data"
    )
    rendering.set_defaults(func=render_template)


def _install(args: argparse.Namespace) -> bool:
    try:
        install_from_config(RawConfig.load(getattr(args, "config", None)))
    except ConfigError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return False
    return True


def list_templates(args: argparse.Namespace) -> int:
    if not _install(args):
        return 2
    for name in catalog.names():
        origin = (
            f"  (override, data of {catalog.contract(name)})" if catalog.is_override(name) else ""
        )
        print(name + origin)
    return 0


def render_template(args: argparse.Namespace) -> int:
    if not _install(args):
        return 2
    if args.name not in catalog.names():
        print(f"unknown template {args.name!r}; try `vigil card list`", file=sys.stderr)
        return 2
    try:
        data = _load(args.data) if args.data else catalog.sample(args.name)
    except (OSError, ValueError) as exc:
        print(f"cannot read data from {args.data}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(data, dict):
        print("the data must be a JSON object", file=sys.stderr)
        return 2
    print(json.dumps(render(args.name, data), indent=2, ensure_ascii=False))
    return 0


def _load(path: str) -> Any:
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
