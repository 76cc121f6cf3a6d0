"""Open incidents from a separate process: `python -m tests.incidents.worker URL COUNT`.

Prints the JSON list of ids it got, so a test can check uniqueness across processes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bot.incidents import records
from bot.store import open_store


async def main(url: str, count: int) -> list[str]:
    store = await open_store(url)
    try:
        made = await asyncio.gather(
            *(
                records.create(
                    store,
                    title=f"worker incident {n}",
                    severity=records.Severity.HIGH,
                    opened_by_id="worker",
                    opened_by_name="Worker",
                )
                for n in range(count)
            )
        )
        return [incident.id for incident in made]
    finally:
        await store.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2])))))
