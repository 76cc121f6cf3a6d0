"""Make untrusted text safe to show as plain text in an Adaptive Card.

Text is cleaned (control, bidi and invisible characters removed), cut to a length with an
ellipsis, then escaped so that Adaptive Card markdown, HTML and `<at>` mentions show literally.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

ELLIPSIS = "…"

# C0/C1 controls except tab and newline, DEL, bidi embeddings/overrides/isolates and marks,
# zero-width characters, the BOM, and lone surrogates (which cannot be encoded as UTF-8).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
# CommonMark treats any escaped ASCII punctuation literally; these are the ones that can start
# emphasis, code, links, HTML/<at> tags, entities or strikethrough anywhere in a line.
_INLINE = re.compile(r"([\\`*_\[\]<>&~|{}!])")
# Block markers only count at the start of a line: headings, quotes, list items.
_BLOCK = re.compile(r"^([ \t]*)([#>+=-])(?=[ \t#=-]|$)", re.MULTILINE)
# "1. item" must not become a list: escape the dot or parenthesis after a leading number.
_ORDERED = re.compile(r"^([ \t]*\d{1,9})([.)])(?=[ \t]|$)", re.MULTILINE)


def clean(text: str, limit: int) -> str:
    """Remove invisible and control characters and cut to `limit` characters with an ellipsis."""
    # Cut before the full scan so a 100 MB string costs no more than a short one.
    text = text[: limit * 4 + 16]
    text = _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    text = unicodedata.normalize("NFC", text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return text


def escape_markdown(text: str) -> str:
    """Backslash-escape Adaptive Card markdown so the text renders literally."""
    text = _INLINE.sub(r"\\\1", text)
    text = _BLOCK.sub(r"\1\\\2", text)
    return _ORDERED.sub(r"\1\\\2", text)


def display(text: str, limit: int) -> str:
    """Untrusted text ready for a markdown-rendering card field (TextBlock, FactSet)."""
    return escape_markdown(clean(text, limit))


def https_url(value: str, limit: int = 2048) -> str:
    """The URL when it is an absolute https URL without credentials or controls; else empty."""
    if len(value) > limit or _UNSAFE.search(value) or any(c.isspace() for c in value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() != "https" or not parts.hostname or "@" in parts.netloc:
        return ""
    return value


_IDENTIFIER = re.compile(r"[^A-Za-z0-9._:@/#=+-]")


def identifier(value: str, limit: int = 256) -> str:
    """An id for action data or refresh userIds: a conservative character set, never markup."""
    return _IDENTIFIER.sub("", value[: limit * 4])[:limit]
