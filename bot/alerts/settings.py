"""Alert settings: limits, the default channel, de-duplication window and digest threshold."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.alerts.normalise.elastic import DEFAULT_FIELDS, FIELD_NAMES
from bot.kernel.config import (
    ConfigError,
    RawConfig,
    Setting,
    parse_float_range,
    parse_int_range,
)

MAX_BODY = Setting(
    "alerts.max_body_bytes",
    "VIGIL_ALERTS_MAX_BODY_BYTES",
    parse_int_range(1024, 1024 * 1024),
    1024 * 1024,
    "largest alert webhook body accepted (bytes); larger gets 413",
)
MAX_CHANNEL_NAME = 50
_CHANNEL_ID = re.compile(r"19:[A-Za-z0-9_.\-]{1,200}@thread\.(tacv2|skype)")
_BAD_NAME = re.compile(r"[~#%&*{}+/\\:<>?|'\"\x00-\x1f]")


def parse_channel(value: str) -> str:
    """A Teams channel id (19:...@thread.tacv2 or @thread.skype) or a name ("#" optional)."""
    channel = str(value).strip()
    if ":" in channel or "@" in channel:
        if not _CHANNEL_ID.fullmatch(channel):
            raise ValueError(
                f"{channel[:60]!r} is neither a channel name nor a Teams channel id"
                " (19:...@thread.tacv2)"
            )
        return channel
    name = channel.removeprefix("#").strip()
    if len(name) > MAX_CHANNEL_NAME or _BAD_NAME.search(name) or (channel and not name):
        raise ValueError(
            f"a channel name has 1 to {MAX_CHANNEL_NAME} characters and none of"
            " ~ # % & * { } + / \\ : < > ? | ' \" or control characters"
        )
    return name


DEFAULT_CHANNEL = Setting(
    "alerts.default_channel",
    "VIGIL_ALERTS_DEFAULT_CHANNEL",
    parse_channel,
    "",
    "channel id (19:...@thread.tacv2) or name for alerts no rule routes",
)
DEDUPE_WINDOW = Setting(
    "alerts.dedupe_window_seconds",
    "VIGIL_ALERTS_DEDUPE_WINDOW",
    parse_int_range(0, 86400),
    600,
    "repeats of one rule on one host within this many seconds update one card",
)
DIGEST_AFTER = Setting(
    "alerts.digest_after",
    "VIGIL_ALERTS_DIGEST_AFTER",
    parse_int_range(1, 1000),
    20,
    "distinct cards per channel per window before further alerts go into a digest card",
)
MAX_SKEW = Setting(
    "alerts.max_skew_seconds",
    "VIGIL_ALERTS_MAX_SKEW",
    parse_int_range(1, 3600),
    300,
    "largest clock difference accepted on a signed alert (X-Vigil-Timestamp)",
)

KEY_TTL = Setting(
    "alerts.key_ttl_seconds",
    "VIGIL_ALERTS_KEY_TTL",
    parse_float_range(1, 3600),
    60.0,
    "seconds an alert key or token is used before it is read again: a rotated-out key stops"
    " working within this time",
)


@dataclass(frozen=True)
class AlertSettings:
    max_body: int
    default_channel: str
    dedupe_window: int
    digest_after: int
    max_skew: int
    key_ttl: float
    elastic_fields: Mapping[str, str]

    @classmethod
    def load(cls, raw: RawConfig) -> AlertSettings:
        return cls(
            max_body=raw.get(MAX_BODY),
            default_channel=raw.get(DEFAULT_CHANNEL).strip(),
            dedupe_window=raw.get(DEDUPE_WINDOW),
            digest_after=raw.get(DIGEST_AFTER),
            max_skew=raw.get(MAX_SKEW),
            key_ttl=raw.get(KEY_TTL),
            elastic_fields=_elastic_fields(raw),
        )


def _elastic_fields(raw: RawConfig) -> dict[str, str]:
    table = raw.table("alerts.elastic.fields")
    fields = dict(DEFAULT_FIELDS)
    for name, path in table.items():
        if name not in FIELD_NAMES:
            known = ", ".join(sorted(FIELD_NAMES))
            raise ConfigError(f"alerts.elastic.fields.{name}: unknown field; known: {known}")
        # A list of paths is the same as "a|b": the first that holds a value wins.
        paths = path if isinstance(path, list) else [path]
        if not paths or not all(isinstance(p, str) and p.strip() for p in paths):
            raise ConfigError(
                f"alerts.elastic.fields.{name}: expected a dotted path string (or a list of them)"
            )
        fields[name] = "|".join(p.strip() for p in paths)
    return fields
