"""String functions of Microsoft's prebuilt function list, with the JS engine's rules.

Positions and lengths count UTF-16 code units, as JavaScript strings do. Most functions accept
a string or undefined (read as ""); null, numbers and objects are errors, as in AEL.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from cards.functions.regex import js_replace, literal_pattern, translate_literal_pattern
from cards.functions.types import (
    ARRAY,
    BOOLEAN,
    NUMBER,
    OBJECT,
    STRING,
    Function,
    Node,
    arity,
    order,
)
from cards.jsvalues import (
    JS_SPACE,
    UNDEFINED,
    from_utf16,
    js_is_integer,
    js_strict_equals,
    js_to_string,
    js_trim,
    utf16,
)
from cards.scope import ExpressionError, Scope


def text_or_empty(value: Any) -> str:
    """verifyStringOrNull then parseStringOrUndefined: a string, or "" for undefined."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return ""
    raise ExpressionError(f"{value!r} is neither a string nor a null object.")


def _texts(values: list[Any]) -> list[str]:
    return [text_or_empty(value) for value in values]


def _length(values: list[Any]) -> int:
    return len(utf16(text_or_empty(values[0])))


def _replace(values: list[Any]) -> str:
    text, old, new = _texts(values)
    if not old:
        raise ExpressionError(f"{old!r} should be a string with length at least 1")
    return text.replace(old, new)


def _replace_ignore_case(values: list[Any]) -> str:
    text, pattern, new = _texts(values)
    if not pattern:
        raise ExpressionError(f"{pattern!r} should be a string with length at least 1")
    # new RegExp(pattern, 'gi'): the pattern is a literal checked at load (cards.functions.regex).
    return js_replace(
        translate_literal_pattern(pattern, ignore_case=True, ael_flags=False), text, new
    )


def _split(values: list[Any]) -> list[str]:
    texts = _texts(values)
    text = utf16(texts[0])
    separator = utf16(texts[1]) if len(texts) > 1 else ""
    if separator == "":
        return [from_utf16(unit) for unit in text]  # "".split("") is [] in JS too
    return [from_utf16(part) for part in text.split(separator)]


def _substring(nodes: list[Node], scope: Scope, subst: bool) -> str:
    value = nodes[0].run(scope, subst)
    if value is UNDEFINED:
        return ""
    if not isinstance(value, str):
        raise ExpressionError(f"{nodes[0].source} is neither a string nor a null object.")
    units = utf16(value)
    start = nodes[1].run(scope, subst)
    if not js_is_integer(start):
        raise ExpressionError(f"{nodes[1].source} is not an integer.")
    if start < 0 or start > len(units):
        raise ExpressionError(f"{nodes[1].source}={start} is out of range")
    start = int(start)
    length = len(units) - start
    if len(nodes) == 3:
        length = nodes[2].run(scope, subst)
        if not js_is_integer(length):
            raise ExpressionError(f"{nodes[2].source} is not an integer")
        if length < 0 or start + length > len(units):
            raise ExpressionError(f"{nodes[2].source}={length} is out of range")
    return from_utf16(units[start : start + int(length)])


def _case(transform: str) -> Any:
    def apply(values: list[Any]) -> str:
        text = _texts(values)[0]  # the optional locale must be a string too
        return text.upper() if transform == "upper" else text.lower()

    return apply


def _trim(values: list[Any]) -> str:
    return js_trim(text_or_empty(values[0]))


def _add_ordinal(values: list[Any]) -> str:
    number = values[0]
    if not js_is_integer(number):
        raise ExpressionError(f"{number!r} is not a integer.")
    text = js_to_string(number)
    if number <= 0:
        return text
    if number % 100 in (11, 12, 13):
        return text + "th"
    return text + {1: "st", 2: "nd", 3: "rd"}.get(int(number % 10), "th")


def _ends_with(values: list[Any]) -> bool:
    text, suffix = _texts(values)
    return text.endswith(suffix)


def _starts_with(values: list[Any]) -> bool:
    text, prefix = _texts(values)
    return text.startswith(prefix)


_JS_SPACES = re.compile(f"[{JS_SPACE}]+")


def _count_word(values: list[Any]) -> int:
    return len(_JS_SPACES.split(js_trim(text_or_empty(values[0]))))


def common_stringify(value: Any) -> str:
    """AEL's commonStringify: "" for null, JSON without outer quotes for objects, else text."""
    from cards.jsvalues import js_json

    if value is None or value is UNDEFINED:
        return ""
    if isinstance(value, list | dict):
        return re.sub(r"['\"]*$", "", re.sub(r"^['\"]*", "", js_json(value)))
    return js_to_string(value)


def _concat(values: list[Any]) -> Any:
    result = values[0]
    for value in values[1:]:
        if (result is None or result is UNDEFINED) and (value is None or value is UNDEFINED):
            result = UNDEFINED
        elif (result is None or result is UNDEFINED) and isinstance(value, list):
            result = value
        elif (value is None or value is UNDEFINED) and isinstance(result, list):
            pass
        elif isinstance(result, list) and isinstance(value, list):
            result = result + value
        else:
            result = common_stringify(result) + common_stringify(value)
    return result


def _new_guid(values: list[Any]) -> str:
    return str(uuid.uuid4())


def _index_of(values: list[Any], last: bool = False) -> int:
    container, wanted = values
    if container is None or container is UNDEFINED or isinstance(container, str):
        if not (wanted is UNDEFINED or isinstance(wanted, str)):
            raise ExpressionError("can only look for the index of a string in a string")
        text, part = utf16(text_or_empty_or_null(container)), utf16(text_or_empty(wanted))
        if not last:
            return text.find(part)
        start = max(len(text) - 1, 0)  # lastIndexOf(part, length - 1), as AEL calls it
        return text.rfind(part, 0, min(len(text), start + len(part)))
    if isinstance(container, list):
        positions = range(len(container) - 1, -1, -1) if last else range(len(container))
        return next((i for i in positions if js_strict_equals(container[i], wanted)), -1)
    raise ExpressionError("works only on string or list.")


def text_or_empty_or_null(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _sentence_case(values: list[Any]) -> str:
    text = _texts(values)[0].lower()
    return text[:1].upper() + text[1:] if text else text


_WORD = re.compile(f"[A-Za-z0-9_][^{JS_SPACE}]*")


def _title_case(values: list[Any]) -> str:
    text = _texts(values)[0].lower()
    return _WORD.sub(lambda m: m.group()[0].upper() + m.group()[1:], text)


def _reverse(values: list[Any]) -> Any:
    value = values[0]
    if isinstance(value, str):
        return from_utf16(utf16(value)[::-1])
    if isinstance(value, list):
        value.reverse()  # in place, like Array.prototype.reverse (the data is per render)
        return value
    raise ExpressionError(f"{value!r} is not a string or list.")


FUNCTIONS = [
    Function("length", _length, NUMBER, arity(1, 1, STRING)),
    Function("replace", _replace, STRING, arity(3, 3, STRING)),
    Function(
        "replaceIgnoreCase", _replace_ignore_case, STRING, literal_pattern(3, ael_flags=False)
    ),
    Function("split", _split, ARRAY, arity(1, 2, STRING)),
    Function("substring", _substring, STRING, order(STRING, NUMBER, optional=(NUMBER,)), True),
    Function("toLower", _case("lower"), STRING, arity(1, 2, STRING)),
    Function("toUpper", _case("upper"), STRING, arity(1, 2, STRING)),
    Function("trim", _trim, STRING, arity(1, 1, STRING)),
    Function("addOrdinal", _add_ordinal, STRING, arity(1, 1, NUMBER)),
    Function("endsWith", _ends_with, BOOLEAN, arity(2, 2, STRING)),
    Function("startsWith", _starts_with, BOOLEAN, arity(2, 2, STRING)),
    Function("countWord", _count_word, NUMBER, arity(1, 1, STRING)),
    Function("concat", _concat, STRING | ARRAY, arity(1)),
    Function("newGuid", _new_guid, STRING, arity(0, 0)),
    Function("indexOf", _index_of, NUMBER, order(STRING | ARRAY, OBJECT)),
    Function(
        "lastIndexOf", lambda v: _index_of(v, last=True), NUMBER, order(STRING | ARRAY, OBJECT)
    ),
    Function("sentenceCase", _sentence_case, STRING, arity(1, 2, STRING)),
    Function("titleCase", _title_case, STRING, arity(1, 2, STRING)),
    Function("reverse", _reverse, STRING | ARRAY, order(STRING | ARRAY)),
]
