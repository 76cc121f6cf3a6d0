"""A stand-in for Azure Database for PostgreSQL's Entra sign-in, in front of the local PostgreSQL.

Like Azure it insists on TLS, asks for a cleartext password (the access token) and accepts only a
current token for the `ossrdbms-aad` resource, presented for the identity's role name. Tokens are
checked against those the fake identity endpoint issued. After that the session is piped to the
local PostgreSQL (trust auth on loopback), so everything past the sign-in is real PostgreSQL.
Protocol: PostgreSQL frontend/backend protocol 3.0 (SSLRequest, StartupMessage, CancelRequest,
AuthenticationCleartextPassword, PasswordMessage, ErrorResponse).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.keyvault import KeyVaultFake
from tests.fakes.tls import make_ca

RESOURCE = "https://ossrdbms-aad.database.windows.net"
_PROTOCOL_3 = 196608
_SSL_REQUEST = 80877103
_CANCEL_REQUEST = 80877102
_GSSENC_REQUEST = 80877104


@dataclass(frozen=True)
class Login:
    user: str
    password: str
    accepted: bool
    reason: str = ""


def _error(code: str, message: str) -> bytes:
    fields = b"".join(
        kind + text.encode() + b"\0"
        for kind, text in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


def _startup_params(body: bytes) -> dict[str, str]:
    parts = body.split(b"\0")
    pairs = [part.decode() for part in parts[:-2]] if len(parts) > 2 else []
    return dict(zip(pairs[::2], pairs[1::2], strict=False))


class EntraGateway:
    """`await gateway.start(tmp_path)`; connect to 127.0.0.1:`port` with sslmode=require."""

    def __init__(
        self,
        identity: KeyVaultFake,
        role: str,
        upstream: tuple[str, int] = ("127.0.0.1", 5432),
        *,
        offer_tls: bool = True,
    ) -> None:
        # offer_tls=False plays an impostor without TLS that asks for the password anyway.
        self.offer_tls = offer_tls
        self.identity = identity
        self.role = role
        self.upstream = upstream
        self.logins: list[Login] = []
        self.ca_path = ""
        self.port = 0
        self._ssl = None
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.StreamWriter] = set()

    async def start(self, directory: str | Path) -> EntraGateway:
        self.ca_path, self._ssl = make_ca(Path(directory) / "pg-tls")
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def drop_connections(self) -> None:
        """Close every open session, as a server restart or failover does."""
        for writer in list(self._sessions):
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self.drop_connections()
            await self._server.wait_closed()

    def _check(self, user: str, token: str) -> str:
        """Why the sign-in is refused, or "" when the token is good for this role."""
        grant = self.identity.tokens.get(token)
        if grant is None:
            return "not a token the identity endpoint issued"
        resource, expires_on = grant
        if resource != RESOURCE:
            return f"token is for {resource}, not {RESOURCE}"
        if expires_on <= time.time():
            return "token expired"
        if user != self.role:
            return f"token is not for role {user!r}"
        return ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sessions.add(writer)
        try:
            await self._session(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._sessions.discard(writer)
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        length, code = struct.unpack("!ii", await reader.readexactly(8))
        tls = False
        while code in (_SSL_REQUEST, _GSSENC_REQUEST):
            if code == _GSSENC_REQUEST or tls or not self.offer_tls:
                writer.write(b"N")
            else:
                writer.write(b"S")
                await writer.drain()
                await writer.start_tls(self._ssl)
                tls = True
            length, code = struct.unpack("!ii", await reader.readexactly(8))
        body = await reader.readexactly(length - 8)
        startup = struct.pack("!ii", length, code) + body
        if code == _CANCEL_REQUEST:
            await self._pipe_to_upstream(startup, reader, writer)
            return
        if code != _PROTOCOL_3:
            writer.write(_error("08P01", "unsupported frontend protocol"))
            return
        if not tls and self.offer_tls:
            # Azure's answer when require_secure_transport is on (the default).
            writer.write(_error("28000", "SSL connection is required"))
            return
        user = _startup_params(body).get("user", "")
        writer.write(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        await writer.drain()
        kind = await reader.readexactly(1)
        (size,) = struct.unpack("!i", await reader.readexactly(4))
        message = await reader.readexactly(size - 4)
        if kind != b"p":
            writer.write(_error("08P01", "expected a password message"))
            return
        password = message.rstrip(b"\0").decode(errors="replace")
        reason = self._check(user, password)
        self.logins.append(Login(user, password, not reason, reason))
        if reason:
            writer.write(_error("28P01", f'password authentication failed for user "{user}"'))
            return
        await self._pipe_to_upstream(startup, reader, writer)

    async def _pipe_to_upstream(
        self, startup: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        try:
            up_writer.write(startup)
            await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        finally:
            up_writer.close()


async def _copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            target.write(data)
            await target.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            target.close()
