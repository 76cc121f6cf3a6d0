"""Extraction reads a paste in linear time and finds exactly what the old scanner found.

The old scanner (kept here as the reference) let an e-mail address start at every character of
a word, so `"x" * 140000` took 28 s on the event loop (issue #16). The growth itself is checked
in tests/bot/test_linear_scans.py; this file checks that nothing else changed.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.intel import indicators
from bot.intel.indicators import MAX_INPUT_CHARS, IndicatorType, extract, trim_url
from bot.intel.presentation import extraction_note

_LABEL = r"[\w-]{1,63}"
_DOMAIN = rf"(?:{_LABEL}\.)+{_LABEL}"
OLD_SCANNER = re.compile(
    r"(?P<url>\b(?:https?|ftp)://[^\s<>\"'`{}|\\^]+)"
    rf"|(?P<email>[\w.%+-]+@(?P<mailhost>{_DOMAIN}))"
    r"|(?P<ip6b>\[[0-9A-Fa-f:.]+\](?::\d{1,5})?)"
    r"|(?P<hash>(?<![\w])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})(?![\w]))"
    r"|(?P<ip4>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w]|\.[\w-]))"
    r"|(?P<ip6>(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}(?![\w:]))"
    rf"|(?P<domain>(?<![\w@.-]){_DOMAIN}(?![\w-]))",
)


def old_trim_url(url: str) -> str:
    url = url.rstrip(".,;:!?'\"")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(".,;:!?")
    while url.endswith("]") and url.count("]") > url.count("["):
        url = url[:-1]
    return url


def spans(matches) -> list[tuple[str | None, int, int, str | None]]:
    found = []
    for match in matches:
        mailhost = match.group("mailhost") if match.lastgroup == "email" else None
        found.append((match.lastgroup, match.start(), match.end(), mailhost))
    return found


HASH = "d41d8cd98f00b204e9800998ecf8427e"
# Where the previous match ends inside a run of local-part characters, the old scanner could
# start an address right there; these are the shapes where that mattered.
EDGES = [
    "a@b.com+c@d.com",
    "a@b.com.c@d.com",
    "a@b.com-x@d.org",
    "[::1]:80foo@bar.com",
    "::1.foo@bar.com",
    "1.2.3.4:80+x@y.com",
    f"+{HASH}+{HASH}+x@y.com",
    "a@b." + "c" * 70 + "@x.com",
    "x" * 300 + "@evil.example " + "y" * 300,
    "mail me: first.last+tag@evil.example.com, or 198.51.100.23",
]
ALPHABET = "ab1F.@:[]()%+-_/ x\n\"'<>" + "é"


@pytest.mark.parametrize("text", EDGES)
def test_the_same_matches_as_the_old_scanner_at_the_edges(text):
    assert spans(indicators._scan(text)) == spans(OLD_SCANNER.finditer(text))


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=ALPHABET, max_size=6),
            st.sampled_from(["http://", "x@", "a.b", "::", "1.2.3.4", HASH, "[::1]", "evil.com"]),
        ),
        max_size=30,
    ).map("".join)
)
@example("+" + HASH + "+x@y.com")
def test_the_same_matches_as_the_old_scanner(text):
    assert spans(indicators._scan(text)) == spans(OLD_SCANNER.finditer(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab()[].,;:!?'\"/", max_size=24).map(lambda tail: "http://a.b/" + tail))
def test_trim_url_as_before(url):
    assert trim_url(url) == old_trim_url(url)


def test_a_long_paste_is_cut_and_the_answer_says_so():
    text = "evil.example " + "x" * MAX_INPUT_CHARS + " 198.51.100.23"
    found = extract(text)
    assert [i.value for i in found.indicators] == ["evil.example"]
    assert found.cut_at == MAX_INPUT_CHARS
    assert f"first {MAX_INPUT_CHARS:,} characters" in (extraction_note(found) or "")
    assert extraction_note(extract("evil.example")) is None


def test_repeated_indicators_are_canonicalised_once_and_kept_once():
    found = extract("::1 " * 5000 + "evil.example " * 3)
    assert [(i.value, i.type) for i in found.indicators] == [
        ("::1", IndicatorType.IP),
        ("evil.example", IndicatorType.DOMAIN),
    ]
