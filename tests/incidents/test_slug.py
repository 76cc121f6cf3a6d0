"""Channel names: ASCII, lower case, hyphens, whole name <= 50 characters, never empty."""

from __future__ import annotations

import re

import pytest

from bot.incidents.slug import MAX_CHANNEL_NAME, channel_name, slugify

NAME = re.compile(r"incident-\d{8}-[a-z0-9]+(-[a-z0-9]+)*")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Phishing wave finance", "phishing-wave-finance"),
        ("Café Ransomware in Zürich", "cafe-ransomware-in-zurich"),
        ("🔥🔥 Fire 🚒 drill", "fire-drill"),
        ("  --Hello__World!!  ", "hello-world"),
        ("C2 beacon: 203.0.113.7 / evil.example.com", "c2-beacon-203-0-113-7-evil-example-com"),
        ("Łódź ĳ", "odz-ij"),
        ("", ""),
        ("🔥🔥🔥", ""),
        ("日本語のタイトル", ""),
    ],
)
def test_slugify(title, slug):
    assert slugify(title) == slug


@pytest.mark.parametrize(
    "title",
    [
        "Phishing wave finance",
        "x" * 200,
        "word " * 40,
        "Ransomware " + "a" * 190,
        "",
        "🔥" * 200,
        "é" * 200,
        "a-" * 100,
        "\u202eevil\u0000 title\n<script>",
    ],
)
@pytest.mark.parametrize("attempt", [1, 2, 10, 100])
def test_every_name_is_valid_and_short_enough(title, attempt):
    name = channel_name("20240502", title, 7, attempt)
    assert len(name) <= MAX_CHANNEL_NAME
    assert NAME.fullmatch(name), name
    assert name.isascii()
    if attempt > 1:
        assert name.endswith(f"-{attempt}")


def test_long_titles_are_cut_at_a_word_boundary():
    name = channel_name("20240502", "Credential theft on the finance workstations of Zurich", 1)
    assert name == "incident-20240502-credential-theft-on-the-finance"


def test_an_empty_slug_falls_back_to_the_number():
    assert channel_name("20240502", "🔥", 3) == "incident-20240502-003"
    assert channel_name("20240502", "", 12, 2) == "incident-20240502-012-2"
