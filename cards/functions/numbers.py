"""Number text as the JS engine writes it: d3-format's `,.Nf` with AEL's locale table.

`string(number)` and `formatNumber(number, digits, locale?)` group thousands and use the locale's
decimal mark. d3-format writes negative numbers with U+2212 MINUS SIGN, not a hyphen, and
AEL's default locale is the process's (en-US here).
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache
from pathlib import Path
from typing import Any

from cards.jsvalues import js_to_string

DEFAULT_LOCALE = "en-US"
_SPEC_PRECISION = re.compile(r"\d+")


@cache
def locales() -> dict[str, dict[str, Any]]:
    """AEL's localeInfo table (adaptive-expressions 4.23.3, lib/localeInfo.js)."""
    return json.loads((Path(__file__).parent / "locales.json").read_text(encoding="utf-8"))


def to_fixed(value: float, digits: int) -> str:
    """`Number.prototype.toFixed(digits)` for a non-negative value."""
    if not math.isfinite(value):
        return js_to_string(value)
    if value >= 1e21:
        return js_to_string(value)
    with localcontext() as context:
        context.prec = 120
        exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        return f"{exact:f}"


def format_fixed(value: float, precision: Any, locale: str) -> str:
    """d3.formatLocale(localeInfo[locale] or the default).format(`,.${precision}f`)(value)."""
    shown = js_to_string(precision)
    if not _SPEC_PRECISION.fullmatch(shown):
        raise ValueError(f"invalid format: ,.{shown}f")
    digits = min(20, int(shown))
    info = locales().get(locale, {})
    negative = value < 0 or (value == 0 and math.copysign(1.0, value) < 0)
    text = to_fixed(abs(value), digits)
    if negative and float(text.replace("e+", "e")) == 0:
        negative = False  # d3 hides the sign of a value that rounds to zero
    cut = next((i for i, char in enumerate(text) if not char.isdigit()), len(text))
    whole, rest = text[:cut], text[cut:]
    if rest.startswith("."):
        rest = info.get("decimal", ".") + rest[1:]
    grouping, thousands = info.get("grouping"), info.get("thousands")
    if grouping is None and not info:
        grouping, thousands = [3], ","
    if grouping is not None and thousands is not None:
        whole = _group(whole, grouping, thousands)
    minus = info.get("minus", "\u2212")
    result = (minus if negative else "") + whole + rest
    numerals = info.get("numerals")
    if numerals:
        result = re.sub(r"[0-9]", lambda m: numerals[int(m.group())], result)
    return result


def _group(digits: str, grouping: list[int], thousands: str) -> str:
    parts: list[str] = []
    end = len(digits)
    position = 0
    size = grouping[0]
    while end > 0 and size > 0:
        parts.append(digits[max(0, end - size) : end])
        end -= size
        position = (position + 1) % len(grouping)
        size = grouping[position]
    return thousands.join(reversed(parts))


def js_round(value: float) -> float:
    """`Math.round`: halves go up (towards +infinity)."""
    if not math.isfinite(value):
        return value
    low = math.floor(value)
    return low + 1 if value - low >= 0.5 else low
