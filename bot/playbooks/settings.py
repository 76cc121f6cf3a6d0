"""Playbook webhook settings. Their TOML table is `[playbook_webhooks]`: `playbooks` itself is
the array of `[[playbooks]]` tables (bot/playbooks/config.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.kernel.config import (
    RawConfig,
    Setting,
    parse_float_range,
    parse_int_range,
    parse_service_url,
)
from bot.kernel.settings import PORT

EVENTS_PATH = "/api/playbooks/events"


EVENTS_URL = Setting(
    "playbook_webhooks.events_url",
    "VIGIL_PLAYBOOKS_EVENTS_URL",
    parse_service_url,
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
