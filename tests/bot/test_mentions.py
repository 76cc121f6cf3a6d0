"""@mentions: the bot's is removed, other people's become their quoted names, junk is ignored."""

from __future__ import annotations

import pytest
from botbuilder.schema import Activity

from bot.kernel.commands import split_words
from bot.kernel.normalise import Mention, normalise_text
from bot.teams.handler import mentions_of

BOT = {"id": "28:bot", "name": "Vigil"}
CAM = {"id": "29:cam", "name": "Cam Commander"}


def _activity(text: str, *entities: dict) -> Activity:
    return Activity().deserialize(
        {"type": "message", "text": text, "recipient": BOT, "entities": list(entities)}
    )


def strip_mentions(activity: Activity) -> str:
    """What the pipeline reads: the adapter's mentions, normalised by the kernel."""
    return normalise_text(activity.text or "", mentions_of(activity))


def _mention(who: dict, text: str) -> dict:
    return {"type": "mention", "mentioned": who, "text": text}


def test_bot_mention_removed_and_person_becomes_one_quoted_word():
    activity = _activity(
        "<at>Vigil</at> incident assign commander <at>Cam Commander</at>",
        _mention(BOT, "<at>Vigil</at>"),
        _mention(CAM, "<at>Cam Commander</at>"),
    )
    text = strip_mentions(activity)
    assert split_words(text) == ["incident", "assign", "commander", "Cam Commander"]


@pytest.mark.parametrize(
    "entities",
    [
        [{"type": "mention"}],
        [{"type": "mention", "mentioned": "not a dict", "text": "<at>x</at>"}],
        [{"type": "mention", "mentioned": {"id": "29:x"}, "text": 5}],
        [
            {
                "type": "mention",
                "mentioned": {"id": "29:x", "name": 'Eve "quoted"'},
                "text": "<at>Eve</at>",
            }
        ],
        [{"type": "clientInfo", "locale": "en-US"}],
    ],
)
def test_malformed_mentions_never_break_the_text(entities):
    text = strip_mentions(_activity("<at>Vigil</at> ping <at>Eve</at>", *entities))
    assert "ping" in text and "<at>" not in text
    split_words(text)  # still a readable command line


def test_mention_markup_in_any_case_and_with_attributes_goes():
    text = "<AT>Vigil</AT>  check-ip\t1.2.3.4 <at id='0'>Vigil</at>"
    assert normalise_text(text) == "check-ip 1.2.3.4"
    assert normalise_text("<attr>x</attr> <at>") == "<attr>x</attr> <at>"


def test_lines_are_kept_and_their_whitespace_folded():
    text = "<at>Vigil</at>  Isolated  WS-1 \r\n\n   Reset passwords\t"
    assert normalise_text(text, [Mention("<at>Vigil</at>", is_bot=True)]) == (
        "Isolated WS-1\nReset passwords"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Each of these made a backtracking pattern quadratic; the scan reads them once.
        ("<at>" * 32000, "<at>" * 32000),
        ("<at>" * 32000 + "</at> ping", "ping"),
        ("<at " * 32000, ("<at " * 32000).strip()),
        ("</at>" * 32000 + "ping", "</at>" * 32000 + "ping"),
        ("<at>x</at>" * 32000 + "ping", "ping"),
    ],
)
def test_hostile_markup_is_read_in_one_pass(text, expected):
    assert normalise_text(text, [Mention("<at>x</at>", is_bot=True)]) == expected
