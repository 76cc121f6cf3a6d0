"""The storable-text rule (bot/kernel/storable.py): replaced in text, refused in identifiers."""

from __future__ import annotations

import json

import pytest

from bot.kernel.http_body import json_object, json_or_none
from bot.kernel.storable import (
    REPLACEMENT,
    Unstorable,
    exact,
    is_storable,
    json_is_storable,
    storable_data,
    storable_text,
)


@pytest.mark.parametrize(
    ("text", "made"),
    [
        ("plain", "plain"),
        ("é ✓ 😀 中文", "é ✓ 😀 中文"),  # a valid astral character is one character, kept
        ("x\ud800", f"x{REPLACEMENT}"),
        ("\udfffx\ud83d", f"{REPLACEMENT}x{REPLACEMENT}"),  # lone halves, either order
        ("a\x00b", f"a{REPLACEMENT}b"),
        ("é\x00", f"é{REPLACEMENT}"),
        ("", ""),
    ],
)
def test_text_is_made_storable_character_by_character(text, made):
    assert storable_text(text) == made
    assert is_storable(made)
    made.encode("utf-8")  # what both stores need


def test_an_identifier_is_refused_never_changed():
    assert exact("29:1abc", "from.id") == "29:1abc"
    with pytest.raises(Unstorable) as caught:
        exact("29:\ud800", "from.id")
    assert caught.value.field == "from.id"
    assert "from.id" in str(caught.value)


def test_data_is_walked_keys_and_all_and_ids_are_refused_by_path():
    value = {
        "text": "hi\x00",
        "k\ud800": [1, None, True, 2.5, {"name": "Eve\ud800"}],
        "from": {"id": "29:1", "name": "n\x00"},
    }
    made = storable_data(value, ids=("from.id",))
    assert made == {
        "text": f"hi{REPLACEMENT}",
        f"k{REPLACEMENT}": [1, None, True, 2.5, {"name": f"Eve{REPLACEMENT}"}],
        "from": {"id": "29:1", "name": f"n{REPLACEMENT}"},
    }
    assert value["text"] == "hi\x00"  # a copy: the input is left as it was
    with pytest.raises(Unstorable) as caught:
        storable_data({"from": {"id": "\x00"}}, ids=("from.id",))
    assert caught.value.field == "from.id"


def test_deep_data_needs_no_recursion():
    deep: list = ["x\ud800"]
    for _ in range(50_000):
        deep = [deep]
    made = storable_data(deep)
    for _ in range(50_000):
        made = made[0]
    assert made == [f"x{REPLACEMENT}"]


def test_provider_answers_are_made_storable_where_they_are_read():
    # Every connector (Graph, Bot Connector, Defender, SOAR) reads JSON answers through these.
    raw = b'{"status": "done\\u0000", "by": ["Eve\\ud800"]}'
    expected = {"status": f"done{REPLACEMENT}", "by": [f"Eve{REPLACEMENT}"]}
    assert json_or_none(raw) == expected
    assert json_object(raw.decode()) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (b'{"a": "plain \\u00e9 \\ud7ff \xc3\xa9"}', True),
        (b'{"a": "x\\ud800"}', False),
        (b'{"a": "x\\uDC00"}', False),
        (b'{"a": "x\\u0000"}', False),
        (b'{"a": "x\xed\xa0\x80"}', False),  # json.loads decodes bytes with surrogatepass
        ('{"a": "x"}'.encode("utf-16"), False),  # NUL bytes: not read as UTF-8 at all
    ],
)
def test_json_that_cannot_hold_unstorable_text_is_recognised_from_its_bytes(raw, clean):
    assert json_is_storable(raw) is clean
    if clean:
        assert storable_data(json.loads(raw)) == json.loads(raw)
