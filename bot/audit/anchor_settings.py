"""Where and how often the audit head is anchored: `VIGIL_AUDIT_ANCHOR_SINK` and
`VIGIL_AUDIT_ANCHOR_EVERY`.

A sink is `file:PATH` (JSON lines, appended and synced), `teams:CONVERSATION_ID` (a small card
in that channel or chat) or an `https://` URL (a signed POST); several are separated by commas.
No sink (the default) means no anchoring job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.kernel.config import RawConfig, Setting, is_loopback_host, parse_int_range, parse_list
from bot.kernel.services import Services, Slot

# Signs the HTTPS sink's posts (X-Vigil-Signature); a key of its own, not the chain's HMAC key,
# so the receiver can check posts without being able to forge records.
ANCHOR_KEY_SECRET = "audit-anchor-hmac-key"  # noqa: S105 (a secret name)
FILE, TEAMS, HTTPS = "file", "teams", "https"


@dataclass(frozen=True)
class Sink:
    kind: str  # file | teams | https
    target: str  # the path, the conversation id or the URL

    def __str__(self) -> str:
        if self.kind == HTTPS:
            parts = urlsplit(self.target)  # no query: it may carry an access code
            return f"{parts.scheme}://{parts.netloc}{parts.path}"
        return f"{self.kind}:{self.target}"


def parse_sink(text: str) -> Sink:
    """`file:PATH`, `teams:CONVERSATION_ID` or an https URL (plain http only to a loopback host)."""
    text = text.strip()
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    if kind == FILE and rest.strip():
        return Sink(FILE, rest.strip())
    if kind == TEAMS and rest.strip():
        return Sink(TEAMS, rest.strip())
    if kind in ("https", "http"):
        parts = urlsplit(text)
        if not parts.hostname:
            raise ValueError(f"{text!r} is not an absolute URL")
        if kind == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("expected https (plain http is only allowed to a loopback address)")
        if parts.username or parts.password:
            raise ValueError("credentials do not belong in the URL; the post is signed")
        return Sink(HTTPS, text)
    raise ValueError(
        f"expected file:PATH, teams:CONVERSATION_ID or an https:// URL, not {text[:80]!r}"
    )


def parse_sinks(value: Any) -> tuple[Sink, ...]:
    return tuple(parse_sink(item) for item in parse_list(value))


SINK = Setting(
    "audit.anchor_sink",
    "VIGIL_AUDIT_ANCHOR_SINK",
    parse_sinks,
    (),
    "where the audit head is published: file:PATH, teams:CONVERSATION_ID or an https:// URL"
    " (comma-separated for several); empty = no anchoring",
)
EVERY = Setting(
    "audit.anchor_every",
    "VIGIL_AUDIT_ANCHOR_EVERY",
    parse_int_range(1, 7 * 24 * 3600),
    3600,
    "seconds between anchors of the audit head (3600 = 1 h); an unchanged head is not re-sent",
)


@dataclass(frozen=True)
class AnchorSettings:
    sinks: tuple[Sink, ...] = ()
    every: int = 3600

    @classmethod
    def load(cls, raw: RawConfig) -> AnchorSettings:
        return cls(sinks=raw.get(SINK), every=raw.get(EVERY))


SETTINGS: Slot[AnchorSettings] = Slot("audit.anchor_settings")


def anchor_settings(services: Services) -> AnchorSettings:
    """Loaded once per process."""
    return services.provide(SETTINGS, lambda: AnchorSettings.load(services.raw_config))
