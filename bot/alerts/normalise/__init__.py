"""One normaliser per source; each turns a parsed JSON body into alerts (or per-item errors)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.alerts.model import Alert, InvalidAlert
from bot.alerts.normalise import (
    alertmanager,
    defender,
    elastic,
    generic,
    sentinel,
    splunk,
    wazuh,
)

Result = list[Alert | InvalidAlert]

SOURCES: dict[str, Callable[..., Result]] = {
    "sentinel": sentinel.normalise,
    "defender": defender.normalise,
    "splunk": splunk.normalise,
    "alertmanager": alertmanager.normalise,
    "elastic": elastic.normalise,
    "wazuh": wazuh.normalise,
    "generic": generic.normalise,
}


def normalise(source: str, body: Any, elastic_fields: Mapping[str, str] | None = None) -> Result:
    """Alerts from one body; raises InvalidAlert when the body as a whole is unusable."""
    if source == "elastic":
        return elastic.normalise(body, elastic_fields or elastic.DEFAULT_FIELDS)
    return SOURCES[source](body)
