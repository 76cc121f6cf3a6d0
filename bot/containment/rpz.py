"""The self-hosted block connector: a BIND response policy zone file Vigil owns.

Each change re-reads the file under an asyncio lock and an fcntl lock on a sidecar file (so two
processes never lose each other's records), bumps the SOA serial and replaces the file atomically
(temp file in the same directory, fsync, os.replace). BIND picks it up on `rndc reload`.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.containment.connector import (
    Action,
    ConnectorError,
    Outcome,
    Provenance,
    Request,
    Result,
    TargetInfo,
)
from bot.containment.rpz_names import BadTarget, owners
from bot.containment.rpz_zone import APPROVAL_ID, Zone, ZoneCorrupt, parse

T = TypeVar("T")

SUPPORTED = frozenset({Action.BLOCK_DOMAIN, Action.BLOCK_IP, Action.BLOCK_URL})
URL_NOTE = "RPZ blocks the host name; the rest of the URL is not part of the block"


class RpzConnector:
    name = "rpz"

    def __init__(self, path: str | Path, zone: str, ttl: int = 300) -> None:
        self.path = Path(path)
        self.zone = zone
        self.ttl = ttl
        self._lock = asyncio.Lock()

    def supports(self, action: Action) -> bool:
        return action in SUPPORTED

    async def describe(self, action: Action, target: str) -> TargetInfo:
        names = self._owners(action, target)
        facts = [("RPZ records", ", ".join(names)), ("RPZ zone", self.zone)]
        if action is Action.BLOCK_URL:
            facts.append(("Note", URL_NOTE))
        return TargetInfo(found=True, target=target, facts=tuple(facts))

    async def execute(self, request: Request) -> Result:
        try:
            names = self._owners(request.action, request.target)
            _check_id(request.approval_id)
        except ConnectorError as exc:
            return self._result(Outcome.FAILED, str(exc), request)

        def add(zone: Zone) -> bool:
            for owner in names:
                zone.add(owner, request.approval_id)
            return True

        try:
            await self._change(add)
        except ConnectorError as exc:
            return self._result(Outcome.FAILED, str(exc), request)
        detail = f"blocked in RPZ {self.zone}: {', '.join(names)}"
        if request.action is Action.BLOCK_URL:
            detail += f" ({URL_NOTE})"
        return self._result(Outcome.SUCCEEDED, detail, request, names[0])

    async def poll(self, request: Request, external_id: str) -> Result:
        present = (await self._read()).owners_of(request.approval_id)
        if present:
            detail = f"in RPZ: {', '.join(present)}"
            return self._result(Outcome.SUCCEEDED, detail, request, present[0])
        return self._result(Outcome.FAILED, "no longer in the RPZ file", request, external_id)

    async def find_sent(self, request: Request) -> Result | None:
        present = (await self._read()).owners_of(request.approval_id)
        if not present:
            return None
        return self._result(Outcome.SUCCEEDED, f"in RPZ: {', '.join(present)}", request, present[0])

    async def rollback(self, request: Request, external_id: str) -> Result:
        def drop(zone: Zone) -> tuple[list[str], list[str]]:
            had = zone.owners_of(request.approval_id)
            return had, zone.remove(request.approval_id)

        try:
            _check_id(request.approval_id)
            had, gone = await self._change(drop)
        except ConnectorError as exc:
            return self._result(Outcome.FAILED, str(exc), request, external_id)
        if not had:
            detail = "nothing of this approval is left in the RPZ file (already removed)"
        else:
            detail = f"removed from RPZ {self.zone}: {', '.join(had)}"
            kept = [owner for owner in had if owner not in gone]
            if kept:
                detail += f"; still blocked by another approval: {', '.join(kept)}"
        return self._result(Outcome.SUCCEEDED, detail, request, external_id)

    async def find_rolled_back(self, request: Request) -> Result | None:
        # Never asked: removing again is the same as removing once (the rollback is repeated).
        return None

    async def check(self) -> str:
        directory = _existing_ancestor(self.path.parent)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ConnectorError(f"rpz: directory {directory} is not writable")
        if not self.path.exists():
            return f"rpz: {self.path} will be created (directory {directory} is writable)"
        zone = await self._read()
        return (
            f"rpz: {self.path} parses (zone {self.zone}, serial {zone.serial}, "
            f"{len(zone.records)} records)"
        )

    # --- file ---------------------------------------------------------------------------------

    def _owners(self, action: Action, target: str) -> tuple[str, ...]:
        try:
            return owners(action, target, self.zone)
        except BadTarget as exc:
            raise ConnectorError(f"rpz: {exc}") from None

    async def _read(self) -> Zone:
        # No lock: os.replace means a reader sees the old file or the new one, never a mix.
        return await asyncio.to_thread(self._load)

    async def _change(self, change: Callable[[Zone], T]) -> T:
        """Apply `change` to the zone and write it, holding both locks throughout."""
        async with self._lock:
            return await asyncio.to_thread(self._locked, lambda: self._rewrite(change))

    def _locked(self, work: Callable[[], T]) -> T:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(f"{self.path}.lock", "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    return work()
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        except OSError as exc:
            raise ConnectorError(f"rpz: cannot use {self.path}: {exc.strerror or exc}") from None

    def _load(self) -> Zone:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Zone(self.zone, ttl=self.ttl)
        except UnicodeDecodeError:
            raise ConnectorError(f"rpz: {self.path} is not text Vigil wrote") from None
        try:
            zone = parse(text, self.zone)
        except ZoneCorrupt as exc:
            raise ConnectorError(f"rpz: {self.path}: {exc}") from None
        zone.ttl = self.ttl
        return zone

    def _rewrite(self, change: Callable[[Zone], T]) -> T:
        zone = self._load()
        outcome = change(zone)
        zone.bump(int(time.time()))
        _write_atomically(self.path, zone.render())
        return outcome

    def _result(
        self, outcome: Outcome, detail: str, request: Request, external_id: str = ""
    ) -> Result:
        summary = {"file": str(self.path), "zone": self.zone, "approval_id": request.approval_id}
        return Result(
            outcome,
            detail,
            external_id=external_id,
            request_summary={**summary, "action": request.action.value},
            response_digest=hashlib.sha256(detail.encode()).hexdigest(),
            provenance=Provenance(connector=self.name),
        )


def _check_id(approval_id: str) -> None:
    if not APPROVAL_ID.fullmatch(approval_id or ""):
        raise ConnectorError("rpz: the approval id cannot go into a zone file comment")


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _write_atomically(path: Path, text: str) -> None:
    """Write next to the target, fsync, rename over it, fsync the directory: all or nothing."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
