"""A running Vigil (the test harness: local channel, real tokens, alert keys) on an event loop
of its own thread, so synchronous Hypothesis tests and bench/fuzz.py can post to it, and a log
handler that keeps every record carrying a traceback or logged at ERROR."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from tests.alerts.test_delivery import GENERAL, routes_env
from tests.bot.harness import ADMIN, Harness

T = TypeVar("T")
VIGIL_PACKAGES = ("bot", "dialogs", "cards")
STEP_TIMEOUT = 60.0  # seconds for one request; far above any turn, below a CI job's patience


class Tracebacks(logging.Handler):
    """Vigil's records with a traceback (or at ERROR and above), in order. Vigil's: logged by
    its code, or on its loop's thread (aiohttp's server); the local channel, Teams' stand-in,
    logs on a thread of its own and is not under test."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.vigil_thread: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if not (record.exc_info or record.levelno >= logging.ERROR):
            return
        if record.thread == self.vigil_thread or record.name.split(".")[0] in VIGIL_PACKAGES:
            self.records.append(record)

    def since(self, mark: int) -> list[logging.LogRecord]:
        return self.records[mark:]

    def describe(self, records: list[logging.LogRecord]) -> str:
        return "\n".join(self.format(record) for record in records)


class LiveVigil:
    """Vigil behind the local channel on its own loop; `run(coro)` from any other thread."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.harness: Harness | None = None
        self.tracebacks = Tracebacks()
        self.tracebacks.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def __enter__(self) -> LiveVigil:
        logging.getLogger().addHandler(self.tracebacks)
        self.thread.start()
        self.tracebacks.vigil_thread = self.thread.ident
        self.harness = self.run(Harness.start(self.db_url, routes_env()))
        # The alerts channel's reference is saved, so routed alerts are delivered as cards.
        self.run(self.harness.say(ADMIN, "ping", GENERAL))
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.harness is not None:
                self.run(self.harness.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            logging.getLogger().removeHandler(self.tracebacks)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=STEP_TIMEOUT)

    @property
    def bot(self) -> Harness:
        assert self.harness is not None
        return self.harness
