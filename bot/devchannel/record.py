"""The record of what the bot sent to the local channel, with event-driven waiting.

The channel's server runs on its own thread and event loop, while tests wait on theirs, so a
new record wakes every waiter through its own loop (`call_soon_threadsafe`), never by polling.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordedCall:
    """One connector call the bot made: what, where, and the activity it carried."""

    seq: int
    method: str
    path: str
    kind: str  # send | reply | update | delete | create | members | member | team
    conversation_id: str | None
    activity_id: str | None
    activity: dict[str, Any] | None
    time: float
    status: int


def in_conversation(call: RecordedCall, conversation_id: str) -> bool:
    """True for calls in the conversation, including channel threads (`<id>;messageid=N`)."""
    found = call.conversation_id or ""
    return found == conversation_id or found.startswith(conversation_id + ";messageid=")


class CallLog:
    """Recorded calls in arrival order; safe to add from one thread and wait from another."""

    def __init__(self) -> None:
        self._calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._calls[-1].seq if self._calls else 0

    def close(self) -> None:
        """Wake every waiter for good: the channel is stopping."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def add(self, **fields: Any) -> RecordedCall:
        with self._lock:
            seq = self._calls[-1].seq + 1 if self._calls else 1
            call = RecordedCall(seq=seq, time=time.time(), **fields)
            self._calls.append(call)
        self._wake()
        return call

    def all(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def successful(self, conversation_id: str | None = None) -> list[RecordedCall]:
        return [
            c
            for c in self.all()
            if c.status < 300 and (conversation_id is None or in_conversation(c, conversation_id))
        ]

    def after(self, seq: int, conversation_id: str | None = None) -> list[RecordedCall]:
        return [c for c in self.successful(conversation_id) if c.seq > seq]

    async def _until(self, find: Callable[[], Any], timeout: float) -> Any:  # noqa: ASYNC109
        """Wait until `find()` returns something other than None; TimeoutError at the bound."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    waiter[1].clear()
                    if (found := find()) is not None:
                        return found
                    if self.closed:
                        raise TimeoutError("the channel stopped")
                    await waiter[1].wait()
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    async def wait_for(
        self,
        predicate: Callable[[RecordedCall], bool],
        timeout: float,  # noqa: ASYNC109 - the interface tests use
        since: int = 0,
    ) -> RecordedCall:
        """The first successful call after `since` matching `predicate`; TimeoutError if none."""
        return await self._until(
            lambda: next((c for c in self.after(since) if predicate(c)), None), timeout
        )

    async def wait_after(
        self,
        seq: int,
        conversation_id: str | None,
        timeout: float,  # noqa: ASYNC109 - a long-poll ends quietly at its bound
    ) -> None:
        """Return when a call after `seq` exists for the conversation, or at the timeout."""
        try:
            await self._until(lambda: self.after(seq, conversation_id) or None, timeout)
        except TimeoutError:
            return
