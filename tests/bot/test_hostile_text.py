"""Messages as long as the body limit allows, shaped to make scans slow (issue #16), answered
over real HTTP like any other: extraction reads a bounded prefix and says so, a command line has
a length limit, mention floods and endless words get the ordinary answers.

That they are cheap is shown by tests/bot/test_linear_scans.py (growth) and bench/hostile.py
(event-loop time, /healthz while one is handled); here, that the answers stay right.
"""

from __future__ import annotations

from bot.intel.indicators import MAX_INPUT_CHARS
from bot.kernel.commands import MAX_COMMAND_CHARS
from tests.bot.harness import ANALYST, NOBODY, card_of, card_text


async def test_a_long_paste_is_searched_up_to_the_bound_and_the_answer_says_so(harness):
    paste = "From evil[.]example: " + "x" * 140_000 + " and later 198.51.100.23"
    call = await harness.say(ANALYST, paste)
    assert f"Only the first {MAX_INPUT_CHARS:,} characters were searched" in call.activity["text"]
    shown = card_text(card_of(call))
    assert "evil[.]example" in shown
    assert "198.51.100.23" not in shown


async def test_a_long_word_without_indicators_is_an_unknown_command(harness):
    call = await harness.say(ANALYST, "A1" * 60_000)
    assert call.activity["text"].startswith("I don't know `A1A1")


async def test_a_mention_flood_from_a_user_without_a_role_is_answered(harness):
    call = await harness.say(NOBODY, "<at>" * 32_000)
    assert call.activity["text"].startswith("I don't know `<at><at>")


async def test_a_command_line_over_the_limit_gets_usage_help(harness):
    call = await harness.say(ANALYST, "check " + "198.51.100.23 " * 3000)
    assert f"a command line is at most {MAX_COMMAND_CHARS:,} characters" in call.activity["text"]
