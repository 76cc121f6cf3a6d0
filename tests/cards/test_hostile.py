"""Hostile alert and user text stays plain text: no markup, no template code, no links."""

from __future__ import annotations

import json
import re

import pytest

from cards import catalog, render
from cards.plaintext import ELLIPSIS
from tests.cards.hostile import BIG, HOSTILE_TEXT, hostile_alert, hostile_verdict
from tests.cards.test_limits import texts

INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


@pytest.mark.parametrize(
    ("case", "text", "forbidden"), HOSTILE_TEXT, ids=[c[0] for c in HOSTILE_TEXT]
)
@pytest.mark.parametrize("template", ["alert", "verdict"])
def test_hostile_text_is_plain_text(template, case, text, forbidden):
    data = hostile_alert(text) if template == "alert" else hostile_verdict(text)
    card = render(template, data)
    serialised = json.dumps(card, ensure_ascii=False)
    json.loads(serialised)  # still valid JSON, and encodable as UTF-8 below
    serialised.encode("utf-8")
    for value in texts(card):
        unescaped = re.search(r"(?<!\\)" + re.escape(forbidden), value)
        assert unescaped is None, f"{case}: {forbidden!r} unescaped in {value!r}"
        assert not INVISIBLE.search(value), f"{case}: invisible character in {value!r}"


def test_template_expressions_in_data_are_never_evaluated():
    card = render("alert", hostile_alert("${$root.userIds} ${alertId}"))
    title = card["body"][0]["items"][0]["columns"][0]["items"][0]["text"]
    assert title == "$\\{$root.userIds\\} $\\{alertId\\}"
    assert "29:abc" not in title and "al-1" not in title


def test_only_https_links_are_emitted():
    for url in (
        "javascript:alert(1)",
        "http://evil.example",
        "data:text/html,x",
        "https://user:pw@evil.example",
        "https://ok.example/\u202ex",
        " https://x",
    ):
        card = render("verdict", hostile_verdict("x", url=url))
        assert "Action.OpenUrl" not in json.dumps(card), url
    card = render("verdict", hostile_verdict("x", url="https://ok.example/a?b=1"))
    assert "https://ok.example/a?b=1" in json.dumps(card)
    card = render("incident", {**catalog.sample("incident"), "channelUrl": "http://x.example"})
    assert card["actions"] == []


def test_long_text_is_cut_with_an_ellipsis():
    card = render("error", {"title": BIG, "message": BIG, "correlationId": BIG})
    title, message = card["body"][0]["items"][0]["text"], card["body"][1]["text"]
    assert title.endswith(ELLIPSIS) and len(title) == 200
    assert message.endswith(ELLIPSIS) and len(message) == 1000
    assert len(card["body"][2]["facts"][0]["value"]) == 256  # an id: cut, no ellipsis


def test_identifiers_in_action_data_keep_a_safe_character_set():
    card = render("approval", {**catalog.sample("approval"), "approvalId": 'ap-1"}<at>x</at>'})
    assert card["actions"][0]["data"] == {"approvalId": "ap-1atx/at"}


def test_wrong_types_and_unknown_keys_become_the_sample_shape():
    card = render(
        "approval",
        {
            "state": ["pending"],
            "canDecide": "yes",
            "evidence": "x",
            "userIds": "29:one",
            "unexpected": {"$when": "${true}"},
        },
    )
    assert card["actions"] == []  # canDecide must be a real boolean true
    assert card["refresh"]["userIds"] == []
    assert "unexpected" not in json.dumps(card)
