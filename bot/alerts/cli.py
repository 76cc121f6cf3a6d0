"""`vigil alert send`, `vigil alerts dead | replay | route-test`."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bot.alerts import outbox, repository
from bot.alerts.keys import hmac_key_name, token_name
from bot.alerts.normalise import SOURCES
from bot.kernel.config import ConfigError, RawConfig
from bot.kernel.settings import HOST, PORT
from bot.kernel.signature import sign
from bot.secrets.source import SecretNotFound, SecretUnavailable, secret_source_from_config
from bot.store import Store, StoreError, open_configured_store

_SINCE = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(subparsers: argparse._SubParsersAction) -> None:
    send = subparsers.add_parser("alert", help="post an alert to a running Vigil").add_subparsers(
        dest="alert_command", required=True
    )
    post = send.add_parser("send", help="sign (or use the token) and post an alert file")
    post.add_argument("--source", choices=SOURCES, default="generic")
    post.add_argument(
        "--url",
        help="Vigil's base URL (default: http:// the configured VIGIL_HOST and VIGIL_PORT)",
    )
    post.add_argument("file", help="the JSON body to post ('-' for stdin)")
    post.set_defaults(func=run_send)
    alerts = subparsers.add_parser("alerts", help="alert outbox: dead letters, replay, routing")
    commands = alerts.add_subparsers(dest="alerts_command", required=True)
    commands.add_parser("dead", help="cards that could not be delivered").set_defaults(
        func=run_dead
    )
    replay = commands.add_parser(
        "replay", help="route and deliver one alert again, or every dead letter (--all)"
    )
    replay.add_argument("id", nargs="?", help="the alert's id (al-...)")
    replay.add_argument("--all", action="store_true", help="every dead letter")
    replay.add_argument(
        "--since", help="with --all: only cards whose latest alert came in this window (1h, 30m)"
    )
    replay.set_defaults(func=run_replay)
    test = commands.add_parser("route-test", help="show which rule and channel an alert takes")
    test.add_argument("--source", choices=SOURCES, default="generic")
    test.add_argument("file")
    test.set_defaults(func=run_route_test)


def _read(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


async def run_send(args: argparse.Namespace) -> int:
    try:
        raw = RawConfig.load(getattr(args, "config", None))
        base = args.url or _served_url(raw)
        body = _read(args.file)
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    headers = {"Content-Type": "application/json"}
    secrets = secret_source_from_config(raw)
    try:
        try:
            key = (await secrets.get(hmac_key_name(args.source))).reveal()
            # Milliseconds: a script re-sending one file within a second is not a replay.
            stamp = f"{time.time():.3f}"
            headers |= {"X-Vigil-Timestamp": stamp, "X-Vigil-Signature": sign(key, stamp, body)}
        except SecretNotFound:
            token = (await secrets.get(token_name(args.source))).reveal()
            headers["Authorization"] = f"Bearer {token}"
    except SecretUnavailable as exc:
        print(f"error: no credential for {args.source}: {exc}", file=sys.stderr)
        return 2
    finally:
        await secrets.close()
    url = f"{base.rstrip('/')}/api/alerts/{args.source}"
    try:
        async with aiohttp.ClientSession(trust_env=False) as http:
            async with http.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
            ) as response:
                print(response.status, await response.text())
                return 0 if response.status in (200, 202) else 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"error: cannot reach {url}: {type(exc).__name__}", file=sys.stderr)
        return 2


def _served_url(raw: RawConfig) -> str:
    """Where `vigil serve` listens with this configuration (a wildcard address means loopback)."""
    host = raw.get(HOST)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{raw.get(PORT)}"


async def _store(args: argparse.Namespace):
    raw = RawConfig.load(getattr(args, "config", None))
    store = await open_configured_store(raw, create=getattr(args, "create", False))
    await store.migrate()
    return raw, store


async def _with_store(args: argparse.Namespace, work: Callable[[Store], Awaitable[int]]) -> int:
    """`work`'s exit code with the configured store, closed after; 2 when it cannot be opened."""
    try:
        _, store = await _store(args)
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return await work(store)
    finally:
        await store.close()


async def run_dead(args: argparse.Namespace) -> int:
    return await _with_store(args, _print_dead_letters)


async def _print_dead_letters(store: Store) -> int:
    rows = await outbox.dead_letters(store)
    for row in rows:
        card = f"{row['id']} alert {row['latest_alert_id']} x{row['count']}"
        print(f"{card} -> {row['conversation_id']}: {row['last_error']}")
    print(f"{len(rows)} dead letter(s)")
    return 0


def _window(text: str) -> float:
    """Seconds in "90s", "30m", "1h" or "2d"."""
    match = _SINCE.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--since: a duration such as 30m, 1h or 2d, not {text[:20]!r}")
    return float(int(match.group(1)) * _UNITS[match.group(2)])


async def run_replay(args: argparse.Namespace) -> int:
    if args.all == bool(args.id) or (args.since and not args.all):
        print("error: give an alert id, or --all [--since 1h]", file=sys.stderr)
        return 2
    if args.all:
        try:
            since = time.time() - _window(args.since) if args.since else 0.0
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

        async def replay_all(store: Store) -> int:
            count = await outbox.revive_dead(store, since)
            print(f"{count} dead letter(s) queued for delivery again")
            return 0

        return await _with_store(args, replay_all)

    async def replay(store: Store) -> int:
        found = await repository.get(store, args.id)
        if found is None:
            print(f"error: no alert {args.id}", file=sys.stderr)
            return 1
        group = found[1]["group_id"]
        if group:
            await outbox.revive(store, group)
        else:
            await repository.requeue(store, args.id)
        print(f"{args.id}: queued for delivery again")
        return 0

    return await _with_store(args, replay)


async def run_route_test(args: argparse.Namespace) -> int:
    from bot.alerts.commands import route_test
    from bot.kernel.commands import UsageError

    try:
        raw, store = await _store(args)
        body = _read(args.file)
    except (ConfigError, StoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        print(await route_test(raw, store, args.source, body))
    except (UsageError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await store.close()
    return 0
