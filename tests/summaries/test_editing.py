"""The commander's answers in the dialog: keep, clear, replace, lists and next-update times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.summaries.editing import edit_list, edit_text, parse_next_update

NOW = datetime(2024, 5, 2, 11, 0, tzinfo=UTC).timestamp()


def test_text_keep_clear_replace():
    assert edit_text("old", "ok") == "old" and edit_text("old", " KEEP ") == "old"
    assert edit_text("old", "none") == ""
    assert edit_text("old", "new\x00 text\n\u202e here") == "new text here"
    assert len(edit_text("", "x" * 50_000)) == 1000


def test_lists_one_per_line_or_semicolons():
    assert edit_list(["a"], "ok") == ["a"] and edit_list(["a"], "none") == []
    assert edit_list([], "- one\n* two\n\n• three") == ["one", "two", "three"]
    assert edit_list([], "one; two ;;three") == ["one", "two", "three"]
    assert edit_list([], "\n".join(f"item {i}" for i in range(50))) == [
        f"item {i}" for i in range(10)
    ]


@pytest.mark.parametrize(
    ("answer", "hours"),
    [
        ("in 2h", 2),
        ("in 90m", 1.5),
        ("in 1h 30m", 1.5),
        ("In 3 hours", 3),
        ("14:00 UTC", 3),
        ("at 14:00", 3),
        ("09:00", 22),
        ("11:00z", 24),
    ],
)
def test_next_update_times(answer, hours):
    assert parse_next_update(answer, NOW) == NOW + hours * 3600


@pytest.mark.parametrize(
    "answer", ["soon", "in", "in 0m", "in 2m", "in 99h", "25:00", "14:00 CET", "", "x" * 10_000]
)
def test_bad_next_update_times(answer):
    with pytest.raises(ValueError, match="between|time like"):
        parse_next_update(answer, NOW)
