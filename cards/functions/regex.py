"""isMatch and replaceIgnoreCase: JavaScript regular expressions, run by Python's `re`.

A pattern must be a literal string in the template: it is translated and checked when the
template is loaded. The JS engine also takes a pattern computed from data; Vigil refuses that,
because card data is untrusted and must never become a pattern. Nested unbounded quantifiers
and back-references are refused as well: a backtracking engine could spend seconds on one
hostile alert title (JS backtracks in the same way).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from cards.functions.types import BOOLEAN, STRING, Function, Node, Validator, arity
from cards.jsvalues import JS_SPACE, UNDEFINED
from cards.scope import ExpressionError

MAX_PATTERN = 300
_NESTED_QUANTIFIER = re.compile(r"[+*][^()]*\)(?:[+*]|\{\d*,\})")
_BACKREFERENCE = re.compile(r"\\[1-9]|\\k<")
_LINE_END = "\\n\\r\\u2028\\u2029"
_WORD = "A-Za-z0-9_"
_CLASS_ESCAPES = {"d": "0-9", "w": _WORD, "s": JS_SPACE.replace("\t", "\\t")}
_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{JS_SPACE}]",
    "S": f"[^{JS_SPACE}]",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}
_GROUP_OPENERS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")


def literal_pattern(arguments: int, ael_flags: bool) -> Validator:
    """Load-time check: the pattern (second argument) is a literal the engine can run safely."""

    def check(source: str, args: list[Node]) -> None:
        arity(arguments, arguments, STRING)(source, args)
        pattern = args[1]
        if pattern.kind != "constant" or not isinstance(pattern.value, str):
            raise ValueError(f"{source}: the pattern must be a literal string in the template")
        translate_pattern(pattern.value, not ael_flags, ael_flags)

    return check


@cache
def translate_pattern(pattern: str, ignore_case: bool, ael_flags: bool) -> re.Pattern[str]:
    """The Python equivalent of `new RegExp(pattern)`; isMatch also reads (?i) (?m) (?s)."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValueError(f"a pattern of 1 to {MAX_PATTERN} characters is needed: {pattern!r}")
    if _NESTED_QUANTIFIER.search(pattern) or _BACKREFERENCE.search(pattern):
        raise ValueError(
            f"pattern {pattern!r}: nested quantifiers such as (a+)+ and back-references can"
            " backtrack catastrophically on hostile text; write it without them"
        )
    flags = {flag for flag in "ims" if ael_flags and f"(?{flag})" in pattern}
    for flag in flags:
        pattern = pattern.replace(f"(?{flag})", "", 1)
    body = _translate(pattern, dot_all="s" in flags, multiline="m" in flags)
    options = re.IGNORECASE if ignore_case or "i" in flags else 0
    try:
        return re.compile(body, options)
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None


def translate_literal_pattern(pattern: str, ignore_case: bool, ael_flags: bool) -> re.Pattern[str]:
    try:
        return translate_pattern(pattern, ignore_case, ael_flags)
    except ValueError as exc:
        raise ExpressionError(str(exc)) from None


def _translate(pattern: str, dot_all: bool, multiline: bool) -> str:
    out: list[str] = []
    pos = 0
    in_class = False
    while pos < len(pattern):
        char = pattern[pos]
        if char == "\\":
            if pos + 1 >= len(pattern):
                raise ValueError(f"pattern {pattern!r} ends with a backslash")
            escaped = pattern[pos + 1]
            if in_class and escaped in _CLASS_ESCAPES:
                out.append(_CLASS_ESCAPES[escaped])
            elif in_class and escaped in "DWSbB":
                raise ValueError(f"\\{escaped} inside [...] is not supported: {pattern!r}")
            elif not in_class and escaped in _ESCAPES:
                out.append(_ESCAPES[escaped])
            elif escaped.isalpha() and escaped not in "tnrvfux0c":
                raise ValueError(f"unsupported escape \\{escaped} in {pattern!r}")
            else:
                out.append(pattern[pos : pos + 2])
            pos += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            elif char == "[":
                out.append("\\[")
                pos += 1
                continue
            out.append(char)
        elif char == "[":
            if pattern.startswith("[^]", pos) or pattern.startswith("[]", pos):
                raise ValueError(f"an empty class [] or [^] is not supported: {pattern!r}")
            in_class = True
            out.append(char)
            if pattern.startswith("[^", pos):
                out.append("^")
                pos += 1
        elif char == "(" and pattern.startswith("(?", pos):
            opener = next((o for o in _GROUP_OPENERS if pattern.startswith(o, pos)), None)
            if opener is None:
                named = re.match(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", pattern[pos:])
                if named is None:
                    raise ValueError(f"unsupported group syntax in {pattern!r}")
                out.append(f"(?P<{named.group(1)}>")
                pos += named.end()
                continue
            out.append(opener)
            pos += len(opener)
            continue
        elif char == ".":
            out.append("[\\s\\S]" if dot_all else f"[^{_LINE_END}]")
        elif char == "$":
            out.append(f"(?=[{_LINE_END}]|\\Z)" if multiline else "\\Z")
        elif char == "^":
            out.append(f"(?:^|(?<=[{_LINE_END}]))" if multiline else "^")
        else:
            out.append(char)
        pos += 1
    if in_class:
        raise ValueError(f"unterminated [ in {pattern!r}")
    return "".join(out)


def js_replace(pattern: re.Pattern[str], text: str, replacement: str) -> str:
    """`text.replace(/pattern/g, replacement)` with JS's `$&`, `$1`, `` $` ``, `$'` and `$$`."""

    def expand(match: re.Match[str]) -> str:
        out: list[str] = []
        pos = 0
        groups = pattern.groups
        while pos < len(replacement):
            char = replacement[pos]
            following = replacement[pos + 1] if pos + 1 < len(replacement) else ""
            if char != "$" or not following:
                out.append(char)
                pos += 1
            elif following == "$":
                out.append("$")
                pos += 2
            elif following == "&":
                out.append(match.group())
                pos += 2
            elif following == "`":
                out.append(text[: match.start()])
                pos += 2
            elif following == "'":
                out.append(text[match.end() :])
                pos += 2
            elif following.isdigit():
                two = replacement[pos + 1 : pos + 3]
                if len(two) == 2 and two.isdigit() and 1 <= int(two) <= groups:
                    out.append(match.group(int(two)) or "")
                    pos += 3
                elif 1 <= int(following) <= groups:
                    out.append(match.group(int(following)) or "")
                    pos += 2
                else:
                    out.append("$")
                    pos += 1
            elif following == "<" and pattern.groupindex and ">" in replacement[pos:]:
                end = replacement.index(">", pos)
                name = replacement[pos + 2 : end]
                out.append((match.group(name) if name in pattern.groupindex else "") or "")
                pos = end + 1
            else:
                out.append("$")
                pos += 1
        return "".join(out)

    return pattern.sub(expand, text)


def _is_match(values: list[Any]) -> bool:
    text, pattern = values
    for value in values:
        if not (isinstance(value, str) or value is UNDEFINED):
            raise ExpressionError(f"{value!r} is neither a string nor a null object.")
    if not isinstance(pattern, str):
        raise ExpressionError("the pattern is undefined")
    compiled = translate_literal_pattern(pattern, ignore_case=False, ael_flags=True)
    return compiled.search(text if isinstance(text, str) else "") is not None


FUNCTIONS = [
    Function("isMatch", _is_match, BOOLEAN, literal_pattern(2, ael_flags=True)),
]
