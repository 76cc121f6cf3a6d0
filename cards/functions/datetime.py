"""formatDateTime(timestamp, format?, locale?) as the JS engine computes it.

AEL converts the .NET-style format (`yyyy-MM-dd HH:mm`) into a Day.js format and prints the
time in UTC with Day.js's English names (AEL loads no other Day.js locale, so the locale
argument changes nothing). Both steps are ported here, quirks included: text in quotes is
handed to Day.js unescaped (so `'at'` prints `amt`), `f`/`ff`/`g` make AEL keep the format
untranslated, and `o` prints milliseconds followed by four zeros.

Timestamps are ISO 8601 (`2024-05-02`, `2024-05-02T10:01:02.5Z`, `…+02:00`; a time without
an offset is UTC). JavaScript's Date also accepts other, browser-specific forms ("May 2,
2024"); Vigil refuses those (see docs/cards.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

from cards.functions.types import STRING, Function, order
from cards.scope import ExpressionError

DEFAULT_FORMAT = "YYYY-MM-DDTHH:mm:ss.SSS[Z]"
_ISO = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = tuple(calendar.month_name[1:])


class _Untranslatable(Exception):
    """AEL's converter throws; timestampFormatter then keeps the format as given."""


# .NET pattern letter -> Day.js token for a run of 1, 2, 3, 4+ of it (None: not supported).
_RUNS: dict[str, tuple[str | None, ...]] = {
    "d": ("D", "DD", "ddd", "dddd"),
    "f": (None, None, "SSS"),
    "F": (None, None, "SSS"),
    "g": (None,),
    "h": ("h", "hh"),
    "H": ("H", "HH"),
    "m": ("m", "mm"),
    "M": ("M", "MM", "MMM", "MMMM"),
    "s": ("s", "ss"),
    "t": ("A", "A"),
    "y": ("YY", "YY", "YYYY", "YYYY"),
    "z": ("ZZ", "ZZ", "Z"),
}


def to_dayjs(pattern: str) -> str:
    """convertCSharpDateTimeToDayjs, ported state for state."""
    if len(pattern) == 1:
        if pattern in "RrUu":
            raise _Untranslatable(pattern)
        if pattern in "Oo":
            pattern = "YYYY-MM-DDTHH:mm:ss.SSS0000Z"
    out: list[str] = []
    state: tuple[str, int] | None = None  # (letter, run) or ("'", 0) / ("`", 0) / ("\\", 0)
    buffer: list[str] = []

    def change(new: tuple[str, int] | None) -> None:
        nonlocal state
        if state is not None:
            letter, run = state
            if letter in _RUNS:
                token = _RUNS[letter][run - 1]
                if token is None:
                    raise _Untranslatable(pattern)
                out.append(token)
            else:
                out.extend(buffer)
        buffer.clear()
        state = new

    for char in pattern:
        if state is not None and state[0] == "\\":
            buffer.append(char)
            change(None)
        elif state is not None and state[0] in "`'":
            if char == state[0]:
                change(None)
            else:
                buffer.append(char)
        elif char in _RUNS:
            if state is not None and state[0] == char:
                state = (char, min(state[1] + 1, len(_RUNS[char])))
            else:
                change((char, 1))
        elif char == "K":
            change(None)
            out.append("Z")
        elif char in "`'\\":
            change((char, 0))
        elif char == "%":
            change(None)
        else:
            change(None)
            out.append(char)
    if state is not None and state[0] in "`'\\":
        raise _Untranslatable(pattern)
    change(None)
    return "".join(out)


_DAYJS_TOKEN = re.compile(
    r"\[([^\]]+)]|YYYY|YY|M{1,4}|D{1,2}|d{1,4}|H{1,2}|h{1,2}|a|A|m{1,2}|s{1,2}|Z{1,2}|SSS"
)


def dayjs_format(when: dt.datetime, pattern: str) -> str:
    """Day.js `format` in UTC with the English names."""
    hour12 = when.hour % 12 or 12
    weekday = (when.weekday() + 1) % 7  # Day.js counts from Sunday
    values = {
        "YY": str(when.year)[-2:],
        "YYYY": f"{when.year:04d}",
        "M": str(when.month),
        "MM": f"{when.month:02d}",
        "MMM": _MONTHS[when.month - 1][:3],
        "MMMM": _MONTHS[when.month - 1],
        "D": str(when.day),
        "DD": f"{when.day:02d}",
        "d": str(weekday),
        "dd": _WEEKDAYS[weekday][:2],
        "ddd": _WEEKDAYS[weekday][:3],
        "dddd": _WEEKDAYS[weekday],
        "H": str(when.hour),
        "HH": f"{when.hour:02d}",
        "h": str(hour12),
        "hh": f"{hour12:02d}",
        "a": "am" if when.hour < 12 else "pm",
        "A": "AM" if when.hour < 12 else "PM",
        "m": str(when.minute),
        "mm": f"{when.minute:02d}",
        "s": str(when.second),
        "ss": f"{when.second:02d}",
        "SSS": f"{when.microsecond // 1000:03d}",
        "Z": "+00:00",
    }

    def token(match: re.Match[str]) -> str:
        return match.group(1) or values.get(match.group(), "+0000")

    return _DAYJS_TOKEN.sub(token, pattern or "YYYY-MM-DDTHH:mm:ssZ")


def parse_timestamp(text: str) -> dt.datetime:
    """An ISO 8601 timestamp as a UTC datetime (millisecond precision, like a JS Date)."""
    match = _ISO.fullmatch(text)
    if match is None:
        raise ExpressionError(f"{text} is not a valid datetime string.")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if not 1 <= int(day or 1) <= 31:
        raise ExpressionError(f"{text} is not a valid datetime string.")
    try:
        # V8 takes any day 1 to 31 and rolls over: 2024-02-30 is 2024-03-01.
        when = dt.datetime(
            int(year),
            int(month or 1),
            1,
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:3].ljust(3, "0")) * 1000,
            tzinfo=dt.UTC,
        )
    except ValueError:
        raise ExpressionError(f"{text} is not a valid datetime string.") from None
    when += dt.timedelta(days=int(day or 1) - 1)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ExpressionError(f"{text} is not a valid datetime string.")
        when -= sign * dt.timedelta(hours=hours, minutes=minutes)
    return when


def _format_date_time(values: list[Any]) -> str:
    timestamp = values[0]
    if not isinstance(timestamp, str):
        raise ExpressionError(f"{timestamp!r} is not a timestamp string")
    when = parse_timestamp(timestamp)
    pattern = DEFAULT_FORMAT
    if len(values) == 3 and isinstance(values[1], str) and isinstance(values[2], str):
        pattern = _translate(values[1]) if values[1] != "" else DEFAULT_FORMAT
    elif len(values) == 2 and isinstance(values[1], str):
        pattern = _translate(values[1])
    return dayjs_format(when, pattern)


def _translate(pattern: str) -> str:
    if not pattern:
        return DEFAULT_FORMAT
    try:
        return to_dayjs(pattern)
    except _Untranslatable:
        return pattern


FUNCTIONS = [
    Function("formatDateTime", _format_date_time, STRING, order(STRING, optional=(STRING, STRING))),
]
