"""`vigil check INDICATOR... [--json]`: the chat verdicts for scripts and SOAR playbooks."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp

from bot.intel.enrichment import Report
from bot.intel.indicators import (
    MAX_PASTE_INDICATORS,
    Indicator,
    InvalidIndicator,
    classify,
    extract,
)
from bot.intel.settings import IntelSettings
from bot.intel.startup import build_enricher
from bot.kernel.config import ConfigError, RawConfig

USAGE_EXAMPLES = """examples:
  vigil check 198.51.100.23 evil[.]example[.]com
  vigil check --json hxxps://evil.example.com/login 44d88612fea8a8f36de82e1f5c8eb5a5
  cat phishing.eml | vigil check --json -
"""


# The CLI shares its event loop with nobody, so a piped log is read further than a chat paste.
MAX_STDIN_CHARS = 200_000


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check",
        help="enrich IPs, domains, URLs and hashes (defanged forms welcome)",
        epilog=USAGE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("indicators", nargs="+", metavar="INDICATOR", help="'-' reads a paste")
    check.add_argument("--json", action="store_true", help="print the documented JSON shape")
    check.set_defaults(func=run_check)


def parse_arguments(
    words: Sequence[str], stdin_text: str = ""
) -> tuple[list[Indicator], list[dict[str, str]], int]:
    """Indicators from arguments (and a '-' paste): valid ones, refused ones, and how many cut."""
    indicators: list[Indicator] = []
    invalid: list[dict[str, str]] = []
    left_out = 0
    for word in words:
        if word == "-":
            found = extract(stdin_text, max_chars=MAX_STDIN_CHARS)
            indicators.extend(found.indicators)
            left_out += found.left_out
            continue
        try:
            indicators.append(classify(word))
        except InvalidIndicator as exc:
            invalid.append({"input": word[:200], "error": str(exc)})
    unique = list(dict.fromkeys(indicators))
    left_out += max(0, len(unique) - MAX_PASTE_INDICATORS)
    return unique[:MAX_PASTE_INDICATORS], invalid, left_out


def document(
    reports: Sequence[Report], invalid: list[dict[str, str]], left_out: int
) -> dict[str, Any]:
    """The `--json` output (docs/intel.md)."""
    return {
        "results": [report.to_json() for report in reports],
        "invalid": invalid,
        "left_out": left_out,
    }


def text_lines(reports: Sequence[Report]) -> list[str]:
    lines = []
    for report in reports:
        score = "" if report.score is None else f" ({report.score})"
        note = f"  [{report.note}]" if report.internal else ""
        lines.append(
            f"{report.indicator.value}  {report.indicator.type.value}  "
            f"{report.verdict.value.upper()}{score}{note}"
        )
        for name, answer in report.sources.items():
            link = f"  {answer.result.link}" if answer.result.link else ""
            lines.append(f"    {name}: {answer.signal.reason}{link}")
    return lines


async def run_check(args: argparse.Namespace) -> int:
    from bot.secrets.source import secret_source_from_config
    from bot.store import StoreError, open_configured_store

    stdin_text = sys.stdin.read() if "-" in args.indicators else ""
    indicators, invalid, left_out = parse_arguments(args.indicators, stdin_text)
    for refused in invalid:
        print(f"vigil check: {refused['error']}", file=sys.stderr)
    if not indicators:
        print("vigil check: nothing to check.\n" + USAGE_EXAMPLES, file=sys.stderr)
        return 2
    try:
        raw = RawConfig.load(args.config)
        settings = IntelSettings.load(raw)
        secrets = secret_source_from_config(raw)
        store = await open_configured_store(raw, create=getattr(args, "create", False))
    except ConfigError as exc:
        print(f"vigil check: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        await secrets.close()
        print(f"vigil check: {exc}", file=sys.stderr)
        return 2
    try:
        await store.migrate()
        async with aiohttp.ClientSession() as http:
            enricher = await build_enricher(settings, store=store, secrets=secrets, http=http)
            reports = await enricher.enrich(indicators)
    finally:
        await store.close()
        await secrets.close()
    if args.json:
        print(json.dumps(document(reports, invalid, left_out), indent=2))
    else:
        print("\n".join(text_lines(reports)))
        if left_out:
            print(f"({left_out} more indicators left out: at most {MAX_PASTE_INDICATORS} a check)")
    return 0
