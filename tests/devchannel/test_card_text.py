"""Adaptive Cards as text: every element type, and hostile or malformed content."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.devchannel.card_text import clean, markdown_to_text, render_card, reveal

CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "**Verdict**: [VT](https://vt.example/x) 1\\. ok"},
        {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "rich "}, "plain"]},
        {
            "type": "FactSet",
            "facts": [{"title": "IP", "value": "10.0.0.1"}, {"title": "Sev", "value": "high"}],
        },
        {
            "type": "ColumnSet",
            "columns": [
                {"type": "Column", "items": [{"type": "TextBlock", "text": "left"}]},
                {"type": "Column", "items": [{"type": "TextBlock", "text": "right"}]},
            ],
        },
        {
            "type": "Table",
            "columns": [{"width": 1}, {"width": 1}],
            "rows": [
                {
                    "type": "TableRow",
                    "cells": [
                        {"type": "TableCell", "items": [{"type": "TextBlock", "text": "Source"}]},
                        {"type": "TableCell", "items": [{"type": "TextBlock", "text": "Result"}]},
                    ],
                },
                {
                    "type": "TableRow",
                    "cells": [
                        {"type": "TableCell", "items": [{"type": "TextBlock", "text": "urlhaus"}]},
                        {"type": "TableCell", "items": [{"type": "TextBlock", "text": "clean"}]},
                    ],
                },
            ],
        },
        {"type": "Container", "items": [{"type": "TextBlock", "text": "inside"}]},
        {"type": "Image", "url": "https://img.example/a.png", "altText": "logo"},
        {"type": "ImageSet", "images": [{"type": "Image", "url": "x"}]},
        {"type": "TextBlock", "text": "hidden", "isVisible": False},
        {
            "type": "Input.ChoiceSet",
            "id": "sev",
            "label": "Severity",
            "value": "low",
            "choices": [{"title": "Low", "value": "low"}, {"title": "High", "value": "high"}],
        },
        {
            "type": "ActionSet",
            "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://a.example"}],
        },
        {"type": "Future.Thing", "fallback": {"type": "TextBlock", "text": "fell back"}},
        {"type": "Future.Other", "fallback": "drop"},
        {"type": "Future.Unknown"},
    ],
    "actions": [
        {"type": "Action.Execute", "title": "Approve", "verb": "approve", "data": {"id": 7}},
        {"type": "Action.Submit", "title": "Note", "data": {"n": 1}},
        {"type": "Action.ShowCard", "title": "More", "card": {"type": "AdaptiveCard", "body": []}},
        {"type": "Action.Execute", "title": "Off", "isEnabled": False},
    ],
}


def test_every_element_type() -> None:
    rendered = render_card(CARD)
    text = "\n".join(rendered.lines)
    assert rendered.lines[0] == "Verdict: VT <https://vt.example/x> 1. ok"
    assert "rich plain" in text
    assert "IP  : 10.0.0.1" in text and "Sev : high" in text
    assert "left  right" in text
    assert "Source  | Result" in text and "urlhaus | clean" in text and "--------+-" in text
    assert "inside" in text and "[image: logo]" in text and "[image]" in text
    assert "hidden" not in text
    assert "[Severity] (low=Low, high=High) = low" in text
    assert "fell back" in text and "[unsupported element: Future.Unknown]" in text
    assert [(a.title, a.type) for a in rendered.actions] == [
        ("Open", "Action.OpenUrl"),
        ("Approve", "Action.Execute"),
        ("Note", "Action.Submit"),
        ("More", "Action.ShowCard"),
    ]
    assert rendered.actions[1].verb == "approve" and rendered.actions[1].data == {"id": 7}
    assert rendered.actions[0].url == "https://a.example"
    assert rendered.inputs[0].id == "sev" and rendered.inputs[0].default == "low"


def test_wide_columns_are_stacked() -> None:
    columns = [{"type": "Column", "items": [{"type": "TextBlock", "text": "x" * 60}]}] * 2
    lines = render_card({"body": [{"type": "ColumnSet", "columns": columns}]}, width=80).lines
    assert lines == ["x" * 60, "x" * 60]


HOSTILE = [
    "\x1b[2J\x1b]0;owned\x07text",
    "a\u202eevil\u202cb",
    "nul\x00byte\x7fdel\x9bcsi",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_control_sequences_and_bidi_are_removed(text: str) -> None:
    card = {
        "body": [
            {"type": "TextBlock", "text": text},
            {"type": "FactSet", "facts": [{"title": text, "value": text}]},
        ],
        "actions": [{"type": "Action.Submit", "title": text}],
    }
    rendered = render_card(card)
    shown = "\n".join(rendered.lines) + rendered.actions[0].title
    assert not any(ch in shown for ch in "\x1b\x07\x00\x7f\x9b\u202e\u202c")


@pytest.mark.parametrize(
    "card",
    [
        None,
        [],
        "card",
        5,
        {"body": "x"},
        {"body": [None, 1, "s", []]},
        {"actions": [1, None]},
        {"body": [{"type": "FactSet", "facts": [None, {"title": 1}]}]},
        {"body": [{"type": "Table", "rows": [None, {"cells": "x"}, {"cells": [None]}]}]},
        {"body": [{"type": "ColumnSet", "columns": [None, {"items": None}]}]},
        {"body": [{"type": "Input.Text"}]},
    ],
)
def test_malformed_cards_do_not_crash(card) -> None:
    render_card(card)


def test_deep_nesting_is_bounded() -> None:
    element: dict = {"type": "TextBlock", "text": "deep"}
    for _ in range(5000):
        element = {"type": "Container", "items": [element]}
    assert render_card({"body": [element]}).lines == ["[nested too deeply]"]


def test_fallback_cycles_are_bounded() -> None:
    element: dict = {"type": "X"}
    for _ in range(5000):
        element = {"type": "X", "fallback": element}
    render_card({"body": [element]})


def test_huge_cards_are_truncated() -> None:
    body = [{"type": "TextBlock", "text": "line"}] * 5000
    lines = render_card({"body": body}).lines
    assert lines[-1] == "[card truncated]" and len(lines) <= 2001


@given(st.text())
def test_clean_never_leaves_control_characters(text: str) -> None:
    out = clean(text)
    assert all(ch == "\n" or (ord(ch) >= 32 and not 0x7F <= ord(ch) <= 0x9F) for ch in out)


def test_markdown_links_without_text() -> None:
    assert markdown_to_text("[](https://x.example)") == "https://x.example"


TOGGLE_CARD = {
    "type": "AdaptiveCard",
    "body": [
        {"type": "TextBlock", "text": "Approve?"},
        {
            "type": "Container",
            "id": "box",
            "isVisible": False,
            "items": [
                {"type": "Input.Text", "id": "reason", "label": "Why?"},
                {
                    "type": "ActionSet",
                    "actions": [{"type": "Action.Execute", "title": "Send", "verb": "reject"}],
                },
            ],
        },
        {"type": "TextBlock", "id": "shown", "text": "already visible"},
        {"type": "TextBlock", "id": "forced", "text": "forced on", "isVisible": False},
    ],
    "actions": [
        {"type": "Action.ToggleVisibility", "title": "Reject", "targetElements": ["box"]},
        {
            "type": "Action.ToggleVisibility",
            "title": "Other",
            "targetElements": [
                {"elementId": "shown"},
                {"elementId": "forced", "isVisible": True},
                {"elementId": "box", "isVisible": False},
                "missing",
                7,
            ],
        },
    ],
}


def test_toggle_visibility_reveals_hidden_inputs_and_buttons() -> None:
    rendered = render_card(TOGGLE_CARD)
    assert rendered.lines == ["Approve?", "already visible"] and rendered.inputs == []
    reject, other = rendered.actions
    assert reject.targets == (("box", None),)
    revealed = reveal(TOGGLE_CARD, reject.targets)
    assert revealed.lines == ["[Why?]"]
    assert [i.id for i in revealed.inputs] == ["reason"]
    assert [(a.title, a.verb) for a in revealed.actions] == [("Send", "reject")]
    # Visible elements toggle off, and an explicit isVisible is obeyed: only "forced" shows.
    assert other.targets == (("shown", None), ("forced", True), ("box", False), ("missing", None))
    assert reveal(TOGGLE_CARD, other.targets).lines == ["forced on"]


def test_reveal_is_bounded_and_tolerates_malformed_cards() -> None:
    element: dict = {"type": "TextBlock", "id": "deep", "text": "deep", "isVisible": False}
    for _ in range(5000):
        element = {"type": "Container", "items": [element]}
    assert reveal({"body": [element]}, (("deep", None),)).lines == []
    for card in (None, [], {"body": "x"}, {"body": [None, {"id": 1}, {"id": ["x"]}]}):
        assert reveal(card, (("x", None),)).lines == []
