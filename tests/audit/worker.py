"""Append audit records from a separate process: `python -m tests.audit.worker URL KEYHEX N TAG`.

Prints each committed seq on its own line as soon as `append` returns, so a test that kills this
process can check that every reported append survived.
"""

from __future__ import annotations

import asyncio
import sys

from bot.audit.log import AuditEntry, AuditLog
from bot.store import open_store

CONCURRENCY = 16


async def main(url: str, key: bytes, count: int, tag: str) -> None:
    store = await open_store(url)
    log = AuditLog(store, key)
    queue = iter(range(count))

    async def appender() -> None:
        for i in queue:
            record = await log.append(
                AuditEntry("aad-worker", f"worker {tag}", "bench", parameters={"i": i, "tag": tag})
            )
            sys.stdout.write(f"{record.seq}\n")
            sys.stdout.flush()

    try:
        await asyncio.gather(*(appender() for _ in range(CONCURRENCY)))
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
