"""Rewrite portable `?` placeholders to PostgreSQL's `$1..$n`, leaving quoted text alone."""

from __future__ import annotations

import re
from functools import lru_cache

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _end_of_quoted(sql: str, start: int) -> int:
    """Index just past the quoted literal or identifier opening at `start`."""
    quote = sql[start]
    # E'...' strings let a backslash escape the quote.
    backslash = quote == "'" and start > 0 and sql[start - 1] in "eE"
    i = start + 1
    while i < len(sql):
        ch = sql[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2  # doubled quote is an escaped quote
                continue
            return i + 1
        i += 1
    return len(sql)


def _end_of_skipped(sql: str, i: int) -> int:
    """If a literal, identifier, comment or dollar-quoted body starts at `i`, the index past it."""
    ch = sql[i]
    if ch in "'\"":
        return _end_of_quoted(sql, i)
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return len(sql) if end < 0 else end + 2
    if ch == "$":
        match = _DOLLAR_TAG.match(sql, i)
        if match:
            end = sql.find(match.group(0), match.end())
            return len(sql) if end < 0 else end + len(match.group(0))
    return i


@lru_cache(maxsize=2048)
def to_numbered(sql: str) -> str:
    """`SELECT '?' , ? , ?` -> `SELECT '?' , $1 , $2`."""
    out: list[str] = []
    count = 0
    i = 0
    while i < len(sql):
        skip_to = _end_of_skipped(sql, i)
        if skip_to > i:
            out.append(sql[i:skip_to])
            i = skip_to
            continue
        if sql[i] == "?":
            count += 1
            out.append(f"${count}")
        else:
            out.append(sql[i])
        i += 1
    return "".join(out)
