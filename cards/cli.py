"""`vigil card list` and `vigil card render NAME --data FILE`: preview and diff cards."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

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


def list_templates(args: argparse.Namespace) -> int:
    for name in catalog.names():
        print(name)
    return 0


def render_template(args: argparse.Namespace) -> int:
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
