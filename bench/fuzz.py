"""Fuzz a running Vigil longer than CI does, and count the answers by status.

The same generators as tests/fuzz (valid channel tokens on /api/messages; valid HMAC signatures
or tokens on /api/alerts/{source} for all seven sources), with fresh randomness and no
shrinking. Prints the count of each status per target, 5xx per 10,000 requests (the goal is 0;
501 for an invoke Vigil does not implement is the protocol's answer and counted apart), and
every distinct traceback Vigil logged, once, with how often it happened.

    python bench/fuzz.py --examples 10000            # per target: activities, card actions, alerts
    python bench/fuzz.py --examples 2000 --db-url postgresql://postgres@127.0.0.1:5432/test?schema=s

Prints figures only; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.alerts.webhook import SOURCES  # noqa: E402
from tests.fuzz.live import LiveVigil  # noqa: E402
from tests.fuzz.requests import (  # noqa: E402
    draw_activity,
    draw_alert,
    draw_card_action,
    post_activity,
    post_alert,
)

NOT_IMPLEMENTED = 501


class Tally:
    """Statuses per target and tracebacks by cause."""

    def __init__(self) -> None:
        self.statuses: dict[str, Counter[int]] = {}
        self.causes: Counter[str] = Counter()
        self.example: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def record(self, target: str, status: int, logged: list[logging.LogRecord]) -> None:
        self.statuses.setdefault(target, Counter())[status] += 1
        for record in logged:
            cause = _cause(record)
            self.causes[cause] += 1
            self.example.setdefault(cause, _text(record))


def _cause(record: logging.LogRecord) -> str:
    """Exception type and the innermost frame of Vigil's code: one line per distinct bug (the
    message is left out: it holds positions and characters that differ every time)."""
    if not record.exc_info or record.exc_info[1] is None:
        return f"{record.name}: {record.getMessage()[:120]}"
    error = record.exc_info[1]
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(error).__name__} at {where}"


def _text(record: logging.LogRecord) -> str:
    text = f"{record.levelname} {record.name}: {record.getMessage()[:300]}"
    if record.exc_info:
        text += "\n" + "".join(traceback.format_exception(*record.exc_info))
    return text


def fuzz(live: LiveVigil, tally: Tally, target: str, examples: int, send) -> None:
    """Run `examples` generated requests against `target`, recording every answer."""

    @settings(
        max_examples=examples,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        mark = len(live.tracebacks.records)
        status = live.run(send(data))
        tally.record(target, status, live.tracebacks.since(mark))

    started = time.perf_counter()
    one()
    tally.seconds[target] = time.perf_counter() - started


def report(tally: Tally) -> None:
    print(f"{'target':<26}{'requests':>9}{'5xx':>6}{'5xx/10k':>9}{'501':>6}{'s':>7}  statuses")
    total = fives = 0
    for target, statuses in tally.statuses.items():
        count = sum(statuses.values())
        errors = sum(n for status, n in statuses.items() if status >= 500 and status != 501)
        total += count
        fives += errors
        shown = " ".join(f"{status}:{n}" for status, n in sorted(statuses.items()))
        print(
            f"{target:<26}{count:>9}{errors:>6}{errors * 10000 / max(count, 1):>9.1f}"
            f"{statuses.get(NOT_IMPLEMENTED, 0):>6}{tally.seconds.get(target, 0):>7.1f}  {shown}"
        )
    print(f"{'all':<26}{total:>9}{fives:>6}{fives * 10000 / max(total, 1):>9.1f}")
    print(
        f"\ntraceback records: {sum(tally.causes.values())}, distinct causes: {len(tally.causes)}"
    )
    for cause, count in tally.causes.most_common():
        print(f"\n== {count} x {cause}\n{tally.example[cause]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="requests per target")
    parser.add_argument("--db-url", help="store URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--targets",
        default="activities,card-actions,alerts",
        help="comma-separated: activities, card-actions, alerts",
    )
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    targets = set(args.targets.split(","))
    tally = Tally()
    with tempfile.TemporaryDirectory() as directory:
        url = args.db_url or f"sqlite:///{directory}/vigil.db"
        with LiveVigil(url) as live:
            bot = live.bot
            if "activities" in targets:
                fuzz(
                    live,
                    tally,
                    "activities",
                    args.examples,
                    lambda data: post_activity(bot, draw_activity(data, bot)),
                )
            if "card-actions" in targets:
                fuzz(
                    live,
                    tally,
                    "card actions + invokes",
                    args.examples,
                    lambda data: post_activity(bot, draw_card_action(data, bot)),
                )
            if "alerts" in targets:
                for source in SOURCES:
                    fuzz(
                        live,
                        tally,
                        f"alerts/{source}",
                        max(1, args.examples // len(SOURCES)),
                        lambda data, source=source: post_alert(
                            bot, source, draw_alert(data, source)
                        ),
                    )
    report(tally)


if __name__ == "__main__":
    main()
