"""An append the database rejects fails only itself: the batch it was written with is retried
record by record, so every other concurrent append commits and the chain stays one line."""

from __future__ import annotations

import asyncio

import pytest

from bot.audit.log import AuditEntry, AuditLog, AuditWriteError
from bot.store import Store

KEY = b"k" * 32


def _entry(i: int, **changes: str) -> AuditEntry:
    fields = {"actor_id": f"aad-{i}", "actor_name": f"User {i}", "action": "command:ping"}
    fields.update(changes)
    return AuditEntry(**fields)


def _poisons(store: Store) -> list[dict[str, str]]:
    """Entries no store can hold (a lone surrogate), and NUL, which PostgreSQL refuses."""
    found = [{"actor_name": "Eve \ud800"}, {"target": "x\udfff"}]
    if store.dialect == "postgresql":
        found += [{"actor_name": "Eve \x00"}, {"detail": "nul \x00 detail"}]
    return found


async def test_a_poisoned_append_among_concurrent_ones_fails_only_itself(store):
    rounds = 3
    log = AuditLog(store, KEY)
    poisons = _poisons(store)
    for round_ in range(rounds):
        good = [_entry(round_ * 100 + i) for i in range(30)]
        bad = [_entry(-1, **changes) for changes in poisons]
        entries = good[:15] + bad + good[15:]
        results = await asyncio.gather(
            *(log.append(entry) for entry in entries), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        assert len(failed) == len(bad), results
        assert all(isinstance(r, AuditWriteError) for r in failed), failed
        stored = {r.actor_id for r in results if not isinstance(r, BaseException)}
        assert stored == {entry.actor_id for entry in good}
    verified = await log.verify()
    assert verified.intact, verified.summary()
    assert verified.records == rounds * 30


async def test_a_batch_that_fails_whole_still_fails_each_append(store):
    # A record that cannot be chained (its hash cannot even be computed) is refused on its own.
    log = AuditLog(store, KEY)
    with pytest.raises(AuditWriteError):
        await log.append(_entry(1, actor_name="\ud800"))
    assert (await log.append(_entry(2))).seq == 1
