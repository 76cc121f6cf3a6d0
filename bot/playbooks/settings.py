"""Playbook webhook settings. Their TOML table is `[playbook_webhooks]`: `playbooks` itself is
the array of `[[playbooks]]` tables (bot/playbooks/config.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.kernel.config import (
    RawConfig,
    Setting,
    is_loopback_host,
    parse_float_range,
    parse_int_range,
    parse_str,
)
from bot.kernel.settings import PORT

EVENTS_PATH = "/api/playbooks/events"


def parse_webhook_url(value: Any) -> str:
    """https anywhere; plain http only to a loopback address (local stand-ins and tests)."""
    text = parse_str(value).strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if not parts.netloc or parts.scheme not in ("https", "http"):
        raise ValueError("expected an absolute https URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        raise ValueError("expected https (plain http only to a loopback address)")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in the URL; use the secret source")
    return text


EVENTS_URL = Setting(
    "playbook_webhooks.events_url",
    "VIGIL_PLAYBOOKS_EVENTS_URL",
    parse_webhook_url,
    "",
    "the events_url a SOAR reports progress to (default: http://127.0.0.1:<port>"
    + EVENTS_PATH
    + ")",
)
TIMEOUT = Setting(
    "playbook_webhooks.timeout_seconds",
    "VIGIL_PLAYBOOKS_TIMEOUT",
    parse_float_range(1.0, 120.0),
    15.0,
    "how long a SOAR has to answer a start (no answer fails the run; nothing is retried)",
)
MAX_BODY = Setting(
    "playbook_webhooks.max_body_bytes",
    "VIGIL_PLAYBOOKS_MAX_BODY_BYTES",
    parse_int_range(1024, 4 * 1024 * 1024),
    512 * 1024,
    "largest playbook event body accepted (bytes); larger gets 413",
)
MAX_SKEW = Setting(
    "playbook_webhooks.max_skew_seconds",
    "VIGIL_PLAYBOOKS_MAX_SKEW",
    parse_int_range(10, 3600),
    300,
    "how far X-Vigil-Timestamp of an event may be from now (seconds)",
)


@dataclass(frozen=True)
class PlaybookSettings:
    events_url: str
    timeout: float
    max_body: int
    max_skew: int

    @classmethod
    def load(cls, raw: RawConfig) -> PlaybookSettings:
        events_url = raw.get(EVENTS_URL) or f"http://127.0.0.1:{raw.get(PORT)}{EVENTS_PATH}"
        return cls(events_url, raw.get(TIMEOUT), raw.get(MAX_BODY), raw.get(MAX_SKEW))
