"""`vigil audit anchor` (publish the head now) and `vigil audit verify --anchors FILE`.

Exit statuses of `verify --anchors`, the first that applies: 3 records after an anchor were
deleted (perhaps all), 4 an anchored record was changed or deleted, 5 an anchor is not signed by
this audit key, 1 the chain is broken, 0 all good; 2 when it cannot check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import aiohttp

from bot.audit.anchor import Anchor, AnchorRefused, NothingToAnchor, current_anchor, read_anchors
from bot.audit.anchor_settings import SINK, Sink, parse_sink
from bot.audit.anchor_sinks import Outlets, publish
from bot.audit.anchor_verify import CHANGED, FOREIGN, TRUNCATED, AnchorReport
from bot.kernel.config import RawConfig
from bot.secrets.source import secret_source_from_config
from bot.store import Store

EXIT_TRUNCATED, EXIT_CHANGED, EXIT_FOREIGN = 3, 4, 5
MAX_ANCHOR_FILE = 256 * 1024 * 1024


def add_anchor_command(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    anchor = commands.add_parser(
        "anchor",
        help="publish the audit head now to the anchor sinks; exit 0 published, 1 not everywhere",
    )
    anchor.add_argument(
        "--sink",
        action="append",
        type=_sink_argument,
        help="file:PATH or an https:// URL (repeatable; default: VIGIL_AUDIT_ANCHOR_SINK)",
    )
    return anchor


def _sink_argument(text: str) -> Sink:
    try:
        return parse_sink(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def load_anchors(path: str) -> list[Anchor]:
    """The anchors in a file of published heads or a channel export; ValueError when none."""
    file = Path(path)
    if file.stat().st_size > MAX_ANCHOR_FILE:
        raise ValueError(f"{path} is over {MAX_ANCHOR_FILE // (1024 * 1024)} MB")
    anchors = read_anchors(file.read_text(encoding="utf-8", errors="replace"))
    if not anchors:
        raise ValueError(f"no audit anchors found in {path}")
    return anchors


def exit_status(report: AnchorReport, chain_intact: bool) -> int:
    kinds = report.kinds()
    for kind, status in ((TRUNCATED, EXIT_TRUNCATED), (CHANGED, EXIT_CHANGED)):
        if kind in kinds:
            return status
    if FOREIGN in kinds:
        return EXIT_FOREIGN
    return 0 if chain_intact else 1


async def publish_now(
    raw: RawConfig, store: Store, key: bytes, sinks_given: list[Sink] | None
) -> tuple[int, list[str]]:
    """Publish the head to the given sinks (else the configured ones): (exit status, lines)."""
    sinks = tuple(sinks_given or raw.get(SINK))
    if not sinks:
        return 2, [f"error: no anchor sink: set {SINK.env} or pass --sink"]
    try:
        anchor = await current_anchor(store, key, time.time())
    except NothingToAnchor as exc:
        return 0, [f"nothing to anchor: {exc}"]
    except AnchorRefused as exc:
        return 1, [f"error: {exc}"]
    source = secret_source_from_config(raw)
    try:
        async with aiohttp.ClientSession() as http:
            results = await publish(anchor, sinks, Outlets(http, source))
    finally:
        await source.close()
    lines = [
        f"anchored seq {anchor.seq} to {sink}" if why is None else f"error: {sink}: {why}"
        for sink, why in results.items()
    ]
    return (0 if all(why is None for why in results.values()) else 1), lines


def print_lines(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr if line.startswith("error:") else sys.stdout)
