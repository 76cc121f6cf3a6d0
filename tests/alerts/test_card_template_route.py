"""A route that names its own alert card template (VIGIL_CARDS_DIR): end to end, from the
webhook to the card the local Teams channel receives, and refused at start-up when unknown."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from bot.alerts.routing import Routes
from bot.kernel.config import ConfigError, RawConfig
from cards import catalog
from tests.alerts.test_delivery import CRITICAL, GENERAL, alert, cards_in, routes_env, settle
from tests.alerts.webhook import post, start_with
from tests.bot.harness import ADMIN, card_text

EXAMPLES = Path(__file__).parent.parent / "cards" / "overrides"


@pytest.fixture
def cards_dir(tmp_path):
    folder = tmp_path / "cards"
    shutil.copytree(EXAMPLES, folder)
    yield folder
    catalog.install(catalog.Installed())  # the shipped templates for the next tests


def document(folder: Path) -> dict:
    return tomllib.loads(
        f'[cards]\ndir = "{folder}"\n'
        '[[alerts.routes]]\nname = "critical"\nmin_severity = "critical"\n'
        'channel = "#soc-critical"\ntemplate = "soc_alert"\n'
    )


async def test_a_route_posts_its_alerts_with_its_own_card_template(store_url, cards_dir):
    harness = await start_with(store_url, document(cards_dir), routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        await harness.say(ADMIN, "ping", CRITICAL)
        await post(harness.url, "generic", alert("Ransomware note", "FS-1", 1, "critical"))
        await post(harness.url, "generic", alert("Odd login", "WS-9", 1, "medium"))
        critical = await settle(harness, CRITICAL, lambda c: len(c) >= 1)
        general = await settle(harness, GENERAL, lambda c: len(c) >= 1)
        own = card_text(critical[0].activity)
        assert "CRIT · Ransomware note" in own  # the route's template
        assert "Hosts: FS-1" in own
        shipped = card_text(general[0].activity)
        assert "Odd login" in shipped and "Hosts:" not in shipped  # the default alert card
        assert len(cards_in(harness, CRITICAL)) >= 1
    finally:
        await harness.close()


def test_a_route_naming_an_unknown_template_stops_start_up(cards_dir):
    raw = RawConfig(document(cards_dir), {})
    assert Routes.load(raw).template_for("critical") == "soc_alert"
    wrong = document(cards_dir)
    wrong["alerts"]["routes"][0]["template"] = "soc_alret"
    with pytest.raises(ConfigError, match=r"alerts.routes\[0\].template: 'soc_alret'"):
        Routes.load(RawConfig(wrong, {}))
    digest = document(cards_dir)
    digest["alerts"]["routes"][0]["template"] = "alert_digest"  # another data contract
    with pytest.raises(ConfigError, match="alert card's data"):
        Routes.load(RawConfig(digest, {}))
    unset = document(cards_dir)
    del unset["cards"]
    with pytest.raises(ConfigError, match="VIGIL_CARDS_DIR"):
        Routes.load(RawConfig(unset, {}))
