"""Execution settings: the lease that keeps one instance on an action, polling and recovery pace."""

from __future__ import annotations

from dataclasses import dataclass

from bot.kernel.config import ConfigError, RawConfig, Setting, parse_float_range

LEASE_SECONDS = Setting(
    "containment.execution.lease_seconds",
    "VIGIL_CONTAINMENT_LEASE_SECONDS",
    parse_float_range(1, 3600),
    60.0,
    "an executing action belongs to one instance this long between renewals; after a crash "
    "another instance takes it over once the lease lapses",
)
RECOVERY_INTERVAL = Setting(
    "containment.execution.recovery_interval_seconds",
    "VIGIL_CONTAINMENT_RECOVERY_INTERVAL",
    parse_float_range(0.1, 600),
    5.0,
    "how often each instance looks for approved actions not yet started and lapsed leases",
)
POLL_INITIAL = Setting(
    "containment.execution.poll_initial_seconds",
    "VIGIL_CONTAINMENT_POLL_INITIAL",
    parse_float_range(0.05, 600),
    2.0,
    "first wait before asking the connector again about a pending or unknown action",
)
POLL_MAX = Setting(
    "containment.execution.poll_max_seconds",
    "VIGIL_CONTAINMENT_POLL_MAX",
    parse_float_range(0.05, 3600),
    60.0,
    "longest wait between status checks (the wait doubles up to this)",
)
GIVE_UP_MINUTES = Setting(
    "containment.execution.give_up_minutes",
    "VIGIL_CONTAINMENT_GIVE_UP_MINUTES",
    parse_float_range(0.01, 1440),
    30.0,
    "an action still unknown this long after it was sent is marked failed (never sent again)",
)


@dataclass(frozen=True)
class ExecutionSettings:
    lease_seconds: float
    recovery_interval: float
    poll_initial: float
    poll_max: float
    give_up_minutes: float

    @property
    def give_up_seconds(self) -> float:
        return self.give_up_minutes * 60

    @classmethod
    def load(cls, raw: RawConfig) -> ExecutionSettings:
        settings = cls(
            lease_seconds=raw.get(LEASE_SECONDS),
            recovery_interval=raw.get(RECOVERY_INTERVAL),
            poll_initial=raw.get(POLL_INITIAL),
            poll_max=raw.get(POLL_MAX),
            give_up_minutes=raw.get(GIVE_UP_MINUTES),
        )
        if settings.poll_max < settings.poll_initial:
            raise ConfigError(
                f"{POLL_MAX.key} (env {POLL_MAX.env}): must not be below {POLL_INITIAL.key}"
            )
        return settings
