"""Record ids numbered per UTC day, like `INC-20240502-003`: a prefix, the day, and the next
value of that day's counter in the store.

The number is taken in the transaction that inserts the record, so two instances never hand
out the same one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.store.base import Transaction


@dataclass(frozen=True)
class DailyId:
    text: str  # INC-20240502-003
    day: str  # 20240502
    number: int  # 3


class DailyIds:
    """One kind of record's ids: `prefix`, the counter they are taken from, zero-padded digits."""

    def __init__(self, prefix: str, counter: str, digits: int) -> None:
        self.prefix = prefix
        self.counter = counter
        self.digits = digits
        self.pattern = re.compile(rf"{prefix}-(\d{{8}})-(\d{{1,6}})", re.IGNORECASE)

    def normalise(self, text: str) -> str | None:
        """Typed input such as `inc-20240502-3` as the canonical id, or None when it is none."""
        match = self.pattern.fullmatch(text.strip())
        return None if match is None else self._text(match[1], int(match[2]))

    async def next(self, tx: Transaction, when: float) -> DailyId:
        """The next id of the UTC day `when` falls on."""
        day = datetime.fromtimestamp(when, UTC).strftime("%Y%m%d")
        number = await tx.next_counter(f"{self.counter}:{day}")
        return DailyId(self._text(day, number), day, number)

    def _text(self, day: str, number: int) -> str:
        return f"{self.prefix}-{day}-{number:0{self.digits}d}"
