"""Runs the local channel's aiohttp app on a thread with its own event loop.

Botbuilder fetches OpenID metadata and MSAL fetches tokens with blocking `requests` calls made
on the bot's event loop. A channel served on that same loop could never answer them, so the
channel always serves from its own thread, whichever process or loop drives it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import aiohttp
from aiohttp import web


class ServerThread:
    """An aiohttp app served on pre-bound sockets from a daemon thread."""

    def __init__(
        self,
        app: web.Application,
        http_sock: socket.socket,
        tls: tuple[socket.socket, ssl.SSLContext],
    ) -> None:
        self._app = app
        self._http_sock = http_sock
        self._tls_sock, self._tls_context = tls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="vigil-local-channel", daemon=True)
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._error is not None:
            raise RuntimeError("the local channel failed to start") from self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._setup())
        except Exception as exc:  # reported to start() in the caller's thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._teardown())
            loop.close()

    async def _setup(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._http_sock).start()
        await web.SockSite(self._runner, self._tls_sock, ssl_context=self._tls_context).start()
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    async def _teardown(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def owns_running_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def stop(self) -> None:
        loop = self._loop
        if loop is None or not self._thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(self._thread.join, 30)
