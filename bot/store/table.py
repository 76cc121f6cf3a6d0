"""A table whose rows are read and written whole, by column names given in code: its SELECT,
its INSERT of one row and its read by id, which every records module would otherwise spell out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.base import Store, Transaction


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]

    @property
    def select(self) -> str:
        """Every column of every row; callers add WHERE, ORDER BY and LIMIT."""
        return f"SELECT {', '.join(self.columns)} FROM {self.name}"  # noqa: S608 - names from code

    async def insert(self, tx: Store | Transaction, row: Sequence[Any]) -> None:
        """One row, its values in the order of `columns`."""
        marks = ", ".join("?" * len(row))
        await tx.execute(
            f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES ({marks})",  # noqa: S608 - names from code
            *row,
        )

    async def get(
        self, store: Store | Transaction, row_id: str, missing: Callable[[str], Exception]
    ) -> dict[str, Any]:
        """The row whose id is `row_id`; raises `missing(row_id)` when there is none."""
        row = await store.fetchone(f"{self.select} WHERE id = ?", row_id)
        if row is None:
            raise missing(row_id)
        return row
