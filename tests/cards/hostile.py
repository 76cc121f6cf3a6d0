"""Hostile text cases shared by the hostile-text, conformance, schema and render tests."""

from __future__ import annotations

# (case id, hostile text, text that must NOT appear raw in the serialised card)
HOSTILE_TEXT = [
    ("markdown-link", "[click me](javascript:alert(1))", "[click me]("),
    ("markdown-bold", "**urgent** _now_ ~~gone~~", "**urgent**"),
    ("template-dollar", "${$root.userIds} ${if(true, 'x', 'y')}", "${$root"),
    ("template-mustache", "{{DATE(2017-02-14T06:08:39Z, SHORT)}}", "{{DATE"),
    ("at-mention", "<at>Everyone</at> please approve", "<at>"),
    ("html", "<script>alert(1)</script><img src=x onerror=alert(1)>", "<script>"),
    ("entity", "&lt;b&gt; &#x3C;at&#x3E;", "&lt;"),
    ("list-and-heading", "# Heading\n- item\n1. first\n> quote", "\n- item"),
    ("nul-and-controls", "a\x00b\x07c\x1bd\x7fe\x85f", "\x00"),
    ("bidi-override", "invoice\u202egpj.exe", "\u202e"),
    ("zero-width", "pay\u200bpal\ufeff", "\u200b"),
    ("lone-surrogate", "x\ud800y", "\ud800"),
]

BIG = "A" * 100_000
HUGE = "B" * 2_000_000


def hostile_alert(text: str) -> dict:
    """An alert whose every free-text field carries the hostile text."""
    return {
        "alertId": "al-1",
        "title": text,
        "severity": "high",
        "source": text,
        "category": text,
        "detectedAt": text,
        "description": text,
        "entities": [{"title": text, "value": text}],
        "status": text,
        "canAct": True,
        "userIds": ["29:abc"],
    }


def hostile_verdict(text: str, url: str = "javascript:alert(1)") -> dict:
    """A verdict whose source link is not https and whose text fields are hostile."""
    return {
        "indicator": text,
        "indicatorType": "URL",
        "verdict": "malicious",
        "checkedAt": "now",
        "summary": text,
        "sources": [{"name": text, "verdict": "malicious", "url": url, "facts": []}],
    }
