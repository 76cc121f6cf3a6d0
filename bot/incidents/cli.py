"""`vigil incident export INC-... --format md|json [--output FILE]`: post-incident review."""

from __future__ import annotations

import argparse
import sys

from bot.incidents import records, timeline
from bot.incidents.export import FORMATS, to_json, to_markdown
from bot.kernel.config import ConfigError, RawConfig
from bot.kernel.output_file import EXIT_REFUSED, OutputRefused, checked_output, write_output
from bot.store import StoreError, open_configured_store


def register(subparsers: argparse._SubParsersAction) -> None:
    incident = subparsers.add_parser("incident", help="incident records")
    actions = incident.add_subparsers(dest="incident_command", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="the incident and its whole timeline")
    export.add_argument("incident_id", metavar="INC-YYYYMMDD-NNN")
    export.add_argument("--format", choices=FORMATS, default="md")
    export.add_argument("--output", help="write to this file instead of standard output")
    export.set_defaults(func=run_export)


async def run_export(args: argparse.Namespace) -> int:
    incident_id = records.normalise_id(args.incident_id)
    if incident_id is None:
        print(f"vigil: {args.incident_id[:60]!r} is not an incident id", file=sys.stderr)
        return 2
    try:
        if args.output:
            checked_output(args.output)  # before any work: a refused path costs nothing
        raw = RawConfig.load(getattr(args, "config", None))
        store = await open_configured_store(raw, create=getattr(args, "create", False))
    except OutputRefused as exc:
        print(f"vigil: --output refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (ConfigError, StoreError) as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            incident = await records.get(store, incident_id)
        except records.IncidentNotFound:
            print(f"vigil: no incident {incident_id}", file=sys.stderr)
            return 1
        entries = await timeline.entries(store, incident_id)
    finally:
        await store.close()
    text = (
        to_json(incident, entries) + "\n"
        if args.format == "json"
        else to_markdown(incident, entries)
    )
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        write_output(args.output, text)
    except OutputRefused as exc:
        print(f"vigil: --output refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"vigil: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_REFUSED
    return 0
