"""Hostile inputs for the fuzz suite: text with lone surrogates (sent as JSON escapes), NUL and
markup; numbers JSON allows but Python dislikes; wrong types; deep nesting; and raw JSON
fragments json.dumps would never write (a 5,000-digit number, `1e999999`, 2,000 nested lists).

Values are plain Hypothesis strategies; `to_body` turns a drawn structure into the bytes posted,
splicing the raw fragments in where their markers were drawn."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from bot.app import command_sets

LONE_SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
FRAGMENTS = (
    "\x00",
    "<at>",
    "</at>",
    "<at>Vigil</at>",
    "[phish](https://evil.example/login)",
    "{{name}}",
    "${jndi:ldap://x}",
    "\u202e",
    "'; DROP TABLE incidents; --",
    "\r\n",
    "\\",
    '"',
    "%s%n",
    "javascript:alert(1)",
    "\ufeff",
    "\U0001f4a5",
    "@",
    "--",
    "INC-20990101-001",
    "AP-20990101-0001",
    "1.2.3.4",
    "evil.example",
    "hxxp://evil[.]example/a",
    "44d88612fea8a8f36de82e1278abb02f",
)
# Raw JSON spliced in place of a marker string: what json.dumps never writes.
RAW_FRAGMENTS = (
    "1" * 5000,  # over Python's int digit limit
    "1e999999",  # a float that overflows to infinity
    "-0",
    "NaN",
    "-Infinity",
    "[" * 2000 + "]" * 2000,  # deeper than the body limit allows
    '{"a":1,"a":2}',  # a duplicate key
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\u0000"',
)
_MARKER = "\u0001raw{}\u0001"

hostile_text = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.one_of(st.text(max_size=8), LONE_SURROGATE, st.sampled_from(FRAGMENTS)), max_size=10
    ).map("".join),
    # Long runs of one shape, bounded so a run stays fast (linear scans are another test's job).
    st.builds(
        lambda unit, count: unit * count,
        st.sampled_from(FRAGMENTS) | st.text(min_size=1, max_size=3),
        st.integers(50, 2000),
    ),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)
raw_fragment = st.integers(0, len(RAW_FRAGMENTS) - 1).map(_MARKER.format)
scalars = st.one_of(st.none(), st.booleans(), numbers, hostile_text, raw_fragment)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)
DELETE = object()
replacement = st.one_of(st.just(DELETE), json_values)


def to_body(document: Any) -> bytes:
    """The bytes to post: the document as JSON (lone surrogates and NUL as escapes), each raw
    marker replaced by its fragment."""
    text = json.dumps(document, allow_nan=True)
    for index, fragment in enumerate(RAW_FRAGMENTS):
        text = text.replace(json.dumps(_MARKER.format(index)), fragment)
    return text.encode("utf-8")


def mutate(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set (or with DELETE remove) `path` in `document`, making missing objects on the way; a
    path through a non-object is left alone (the parent was already replaced)."""
    target: Any = document
    for key in path[:-1]:
        if not isinstance(target, dict):
            return
        target = target.setdefault(key, {})
    if not isinstance(target, dict):
        return
    if value is DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


def paths_of(document: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every object key path in a JSON document (list items are left as they are)."""
    found: list[tuple[str, ...]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            found.append((*prefix, key))
            found.extend(paths_of(value, (*prefix, key)))
    return found


def _registry_names() -> tuple[list[str], list[str], list[str]]:
    sets = command_sets()
    names = [name for s in sets for c in s.commands for name in (c.name, *c.aliases)]
    flags = [o.flag for s in sets for c in s.commands for o in c.options]
    verbs = [a.verb for s in sets for a in s.actions]
    return names, flags, verbs


COMMAND_NAMES, OPTION_FLAGS, VERBS = _registry_names()
DATA_KEYS = ("approvalId", "alertId", "incidentId", "reason", "minutes", "note", "verb", "id")

word = st.one_of(
    hostile_text,
    st.sampled_from(OPTION_FLAGS),
    st.sampled_from(FRAGMENTS),
    st.sampled_from(COMMAND_NAMES),
)
command_text = st.builds(
    lambda name, words: " ".join([name, *words]),
    st.sampled_from(COMMAND_NAMES),
    st.lists(word, max_size=6),
)


def mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """`usual` three times in four, so fuzzed requests mostly get past the first check."""
    return st.integers(0, 3).flatmap(lambda pick: other if pick == 0 else usual)


card_data = st.dictionaries(st.sampled_from(DATA_KEYS) | hostile_text, json_values, max_size=4)
card_action_value = st.fixed_dictionaries(
    {
        "action": st.fixed_dictionaries(
            {"type": st.just("Action.Execute"), "verb": mostly(st.sampled_from(VERBS), scalars)},
            optional={"data": card_data | json_values},
        ),
    },
    optional={"trigger": st.sampled_from(["manual", "automatic"]) | scalars},
)
