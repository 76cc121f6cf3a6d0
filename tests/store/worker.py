"""Run store operations in a separate process: `python -m tests.store.worker URL OP [ARGS]`.

Prints a JSON list of results, so tests can check behaviour across processes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bot.store import open_store


async def main(url: str, op: str, args: list[str]) -> list:
    store = await open_store(url)
    try:
        if op == "counter":
            name, count = args[0], int(args[1])
            return list(await asyncio.gather(*(store.next_counter(name) for _ in range(count))))
        if op == "claim":
            scope, keys = args[0], args[1:]
            return list(await asyncio.gather(*(store.claim_once(scope, k, 3600) for k in keys)))
        if op == "migrate":
            return await store.migrate()
        raise SystemExit(f"unknown op {op}")
    finally:
        await store.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))))
