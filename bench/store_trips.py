"""Store round trips per chat turn: how many statements Vigil sends the database for one message.

A `CountingStore` wraps the real store and counts every trip to the database (a statement, or
BEGIN and COMMIT of a transaction). A Vigil runs in-process behind the local channel; after one
warm-up turn per user, each listed command is sent again and its turn's trips are printed, by
statement. Run: python bench/store_trips.py [--db-url postgresql://...] [--turns 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web  # noqa: E402

from bot.app import build_app, start_vigil  # noqa: E402
from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel  # noqa: E402
from bot.kernel.config import RawConfig  # noqa: E402
from bot.store import Store, Transaction, open_store  # noqa: E402

APP_ID = "44444444-5555-4666-8777-888888888888"
APP_PASSWORD = "bench-password-not-a-secret"
AUDIT_KEY = "bench-audit-key-0123456789abcdef"


def statement_name(sql: str) -> str:
    """A short name for a statement: its verb and table (`INSERT claims`, `SELECT users`)."""
    words = sql.split()
    upper = [word.upper() for word in words]
    for marker in ("INTO", "FROM", "UPDATE"):
        if marker in upper[:-1]:
            return f"{upper[0]} {words[upper.index(marker) + 1]}"
    return upper[0]


class _CountingTransaction(Transaction):
    def __init__(self, inner: Transaction, trips: Counter[str], dialect: str) -> None:
        self._inner = inner
        self._trips = trips
        self._dialect = dialect

    async def execute(self, sql: str, *params: Any) -> int:
        self._trips[statement_name(sql)] += 1
        return await self._inner.execute(sql, *params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._trips[statement_name(sql) + " (many)"] += 1
        await self._inner.executemany(sql, rows)

    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        self._trips[statement_name(sql)] += 1
        return await self._inner.fetchall(sql, *params)

    async def lock(self, name: str) -> None:
        if self._dialect == "postgresql":  # SQLite's lock is BEGIN IMMEDIATE itself: no trip
            self._trips["LOCK"] += 1
        await self._inner.lock(name)

    async def run_script(self, sql: str) -> None:
        self._trips["SCRIPT"] += 1
        await self._inner.run_script(sql)


class CountingStore(Store):
    """The wrapped store, with every trip to the database counted in `trips` by statement."""

    def __init__(self, inner: Store) -> None:
        super().__init__()
        self.inner = inner
        self.dialect = inner.dialect
        self.trips: Counter[str] = Counter()

    def total(self) -> int:
        return sum(self.trips.values())

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self.inner.ping()

    async def migrate(self) -> list[str]:
        return await self.inner.migrate()

    async def pending_migrations(self) -> list[str]:
        return await self.inner.pending_migrations()

    async def execute(self, sql: str, *params: Any) -> int:
        self.trips[statement_name(sql)] += 1
        return await self.inner.execute(sql, *params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.trips[statement_name(sql) + " (many)"] += 1
        await self.inner.executemany(sql, rows)

    async def fetchall(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        self.trips[statement_name(sql)] += 1
        return await self.inner.fetchall(sql, *params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        self.trips["BEGIN"] += 1
        try:
            async with self.inner.transaction() as tx:
                yield _CountingTransaction(tx, self.trips, self.dialect)
        finally:
            self.trips["COMMIT"] += 1  # or ROLLBACK: a trip either way


async def turn_trips(
    store: CountingStore, channel: LocalChannel, user: ChannelUser, text: str
) -> Counter[str]:
    """The trips of one turn in which `user` says `text` in their 1:1 chat."""
    before = Counter(store.trips)
    status = await channel.send_message(user, ChannelConversation.personal(user), text)
    if status not in (200, 201):
        raise RuntimeError(f"{text}: bot answered {status}")
    return store.trips - before


async def run(args: argparse.Namespace) -> None:
    users = [ChannelUser.named(f"Trips User {i}") for i in range(args.turns)]
    with tempfile.TemporaryDirectory() as tmp:
        store = CountingStore(await open_store(args.db_url or f"sqlite:///{tmp}/trips.db"))
        channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
        await channel.start()
        env = {
            **channel.bot_env(),
            "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
            "VIGIL_ROLE_ANALYST": ",".join(u.aad_object_id for u in users),
        }
        vigil = await start_vigil(RawConfig({}, env), store=store)
        runner = web.AppRunner(build_app(vigil))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        channel.bot_endpoint = f"http://127.0.0.1:{port}"
        try:
            print(f"store: {store.dialect}")
            for user in users:  # first contact: the user and the conversation are new
                first = await turn_trips(store, channel, user, "ping")
            print(f"first turn of a user (ping): {first.total()} trips  {dict(first)}")
            for text in args.commands:
                for user in users:
                    trips = await turn_trips(store, channel, user, text)
                print(f"{text} again: {trips.total()} trips  {dict(trips)}")
        finally:
            await runner.cleanup()
            await channel.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--turns", type=int, default=3, help="users, one turn each per command")
    parser.add_argument("--commands", nargs="+", default=["ping", "whoami"])
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
