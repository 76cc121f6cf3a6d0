"""`vigil audit verify [--anchors FILE]`, `vigil audit anchor` and `vigil audit export`."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
from typing import TextIO

from bot.audit import anchor_cli
from bot.audit import log as audit
from bot.audit.anchor_verify import check_anchors
from bot.kernel.config import ConfigError, RawConfig
from bot.kernel.output_file import EXIT_REFUSED, OutputRefused, checked_output, replaced_on_success
from bot.store import StoreError, open_configured_store

HMAC_KEY_NAME = "audit-hmac-key"
EXPORT_FIELDS = audit.RECORD_COLUMNS
# A spreadsheet treats a cell starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditCliError(Exception):
    """The command cannot run (configuration, secret or database); exit status 2."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit", help="the tamper-evident audit log: verify, anchor, export"
    )
    commands = parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify",
        help="check the hash chain and HMACs; exit 0 intact, 1 broken, 2 cannot check",
        description="With --anchors: exit 3 records after an anchor deleted (or all), 4 an"
        " anchored record changed, 5 an anchor not signed by this audit key.",
    )
    verify.add_argument(
        "--anchors",
        metavar="FILE",
        help="published heads (the anchor file, or an export of the anchor channel) to check"
        " the log against",
    )
    verify.set_defaults(func=run_verify)
    anchor_cli.add_anchor_command(commands).set_defaults(func=run_anchor)
    export = commands.add_parser("export", help="write records for a SIEM")
    export.add_argument("--since", type=parse_time, help="ISO date or time (UTC if no zone)")
    export.add_argument("--until", type=parse_time, help="ISO date or time, exclusive")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.set_defaults(func=run_export)


def parse_time(text: str) -> dt.datetime:
    """`2024-05-01` or `2024-05-01T12:00:00+02:00`; a time without a zone is UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time such as 2024-05-01T12:00:00Z, got {text!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def hmac_key(raw: RawConfig) -> bytes:
    """The audit HMAC key from the secret source (Key Vault, env or directory)."""
    try:
        from bot.secrets.source import SecretUnavailable, secret_source_from_config
    except ModuleNotFoundError:
        value = os.environ.get("VIGIL_SECRET_AUDIT_HMAC_KEY", "")
        if not value:
            raise AuditCliError(f"not configured: {HMAC_KEY_NAME}") from None
        return value.encode()
    source = secret_source_from_config(raw)
    try:
        secret = await source.get(HMAC_KEY_NAME)
    except SecretUnavailable as exc:
        raise AuditCliError(str(exc)) from None
    finally:
        await source.close()
    return secret.reveal().encode()


async def run_verify(args: argparse.Namespace) -> int:
    anchors = None
    try:
        if getattr(args, "anchors", None):
            anchors = anchor_cli.load_anchors(args.anchors)
        raw = RawConfig.load(getattr(args, "config", None))
        key = await hmac_key(raw)
        store = await open_configured_store(raw, create=getattr(args, "create", False))
    except (ConfigError, StoreError, AuditCliError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        log = audit.AuditLog(store, key)
        result = await log.verify()
        report = await check_anchors(store, key, anchors) if anchors else None
    except (StoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. the audit table is missing: the schema is not migrated
        print(f"error: cannot read the audit log ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    finally:
        await store.close()
    print(result.summary())
    if report is None:
        return 0 if result.intact else 1
    anchor_cli.print_lines(report.lines())
    return anchor_cli.exit_status(report, result.intact)


async def run_anchor(args: argparse.Namespace) -> int:
    try:
        raw = RawConfig.load(getattr(args, "config", None))
        key = await hmac_key(raw)
        store = await open_configured_store(raw, create=getattr(args, "create", False))
    except (ConfigError, StoreError, AuditCliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        status, lines = await anchor_cli.publish_now(raw, store, key, args.sink)
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. the audit table is missing: the schema is not migrated
        print(f"error: cannot read the audit log ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    finally:
        await store.close()
    anchor_cli.print_lines(lines)
    return status


def _csv_cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def write_export(
    store, out: TextIO, fmt: str, since: dt.datetime | None, until: dt.datetime | None
) -> int:
    """Write the records in [since, until) to `out`; the number written."""
    count = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(EXPORT_FIELDS)
    async for record in audit.export(store, since, until):
        item = record.to_export()
        if writer:
            writer.writerow([_csv_cell(item[name]) for name in EXPORT_FIELDS])
        else:
            out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


async def run_export(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since >= args.until:
        print("error: --since must be before --until", file=sys.stderr)
        return 2
    try:
        if args.output:
            checked_output(args.output)  # before any work: a refused path costs nothing
        raw = RawConfig.load(getattr(args, "config", None))
        store = await open_configured_store(raw, create=getattr(args, "create", False))
    except OutputRefused as exc:
        print(f"error: --output refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.output:
            with replaced_on_success(args.output, newline="") as out:
                count = await write_export(store, out, args.format, args.since, args.until)
        else:
            count = await write_export(store, sys.stdout, args.format, args.since, args.until)
    except OutputRefused as exc:
        print(f"error: --output refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"error: cannot read the audit log ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    finally:
        await store.close()
    print(f"exported {count} records", file=sys.stderr)
    return 0
