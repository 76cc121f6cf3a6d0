"""Settings of executive-summary cadences: the scheduler's tick and the allowed `--every` range.

The range defaults to what the issue names (15m to 24h). The minimum may be lowered to seconds,
which is meant for tests and demos only: real commanders do not want a reminder a minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.kernel.config import ConfigError, RawConfig, Setting, parse_float_range, parse_int_range
from bot.kernel.services import Services, Slot

DEFAULT_MIN = 15 * 60
DEFAULT_MAX = 24 * 3600

TICK = Setting(
    "summaries.cadence_tick",
    "VIGIL_SUMMARY_CADENCE_TICK",
    parse_float_range(0.1, 300.0),
    5.0,
    "seconds between runs of the job that sends due exec-summary reminders",
)
MIN_EVERY = Setting(
    "summaries.cadence_min",
    "VIGIL_SUMMARY_CADENCE_MIN",
    parse_int_range(1, DEFAULT_MAX),
    DEFAULT_MIN,
    "shortest `exec-summary --every` in seconds (900 = 15m; lower it only for tests)",
)
MAX_EVERY = Setting(
    "summaries.cadence_max",
    "VIGIL_SUMMARY_CADENCE_MAX",
    parse_int_range(60, 7 * 24 * 3600),
    DEFAULT_MAX,
    "longest `exec-summary --every` in seconds (86400 = 24h)",
)
SEND_ATTEMPTS = Setting(
    "summaries.reminder_attempts",
    "VIGIL_SUMMARY_REMINDER_ATTEMPTS",
    parse_int_range(1, 1000),
    30,
    "how many ticks try to send one reminder before it is given up (logged and audited)",
)


@dataclass(frozen=True)
class CadenceSettings:
    tick: float = 5.0
    min_every: int = DEFAULT_MIN
    max_every: int = DEFAULT_MAX
    send_attempts: int = 30

    @classmethod
    def load(cls, raw: RawConfig) -> CadenceSettings:
        low, high = raw.get(MIN_EVERY), raw.get(MAX_EVERY)
        # A minimum above the maximum would refuse every cadence; say so at start-up.
        if low > high:
            raise ConfigError(f"{MIN_EVERY.key} ({low}) is above {MAX_EVERY.key} ({high})")
        return cls(
            tick=raw.get(TICK), min_every=low, max_every=high, send_attempts=raw.get(SEND_ATTEMPTS)
        )


SETTINGS: Slot[CadenceSettings] = Slot("summaries.cadence_settings")


def cadence_settings(services: Services) -> CadenceSettings:
    """Loaded once per process."""
    return services.provide(SETTINGS, lambda: CadenceSettings.load(services.raw_config))
