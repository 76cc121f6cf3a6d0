"""Which connector serves which action, and configuration errors that name their key."""

from __future__ import annotations

import pytest

from bot.config_report import effective_config
from bot.containment.connector import Action, ConnectorError
from bot.containment.registry import connectors_from_config
from bot.containment.rpz import RpzConnector
from bot.containment.settings import ConnectorSettings
from bot.kernel.config import ConfigError, RawConfig


def test_defaults_work_locally():
    settings = ConnectorSettings.load(RawConfig({}, {}))
    assert settings.isolate_connector == "mde"
    assert settings.block_connector == "rpz"
    assert settings.mde_url == "https://api.securitycenter.microsoft.com"
    assert settings.rpz_file == "./.vigil/rpz/vigil.rpz.zone"
    assert settings.rpz_zone == "rpz.vigil.local"


async def test_blocks_go_to_rpz_by_default_and_the_registry_is_built_once(make_services, tmp_path):
    services = make_services({"VIGIL_RPZ_FILE": str(tmp_path / "z.zone")})
    connectors = connectors_from_config(services)
    assert connectors_from_config(services) is connectors
    rpz = connectors.for_action(Action.BLOCK_DOMAIN)
    assert isinstance(rpz, RpzConnector)
    assert connectors.for_action(Action.BLOCK_IP) is rpz
    assert connectors.for_action(Action.BLOCK_URL) is rpz


async def test_rpz_cannot_block_hashes_and_says_what_to_set(make_services, tmp_path):
    connectors = connectors_from_config(make_services({"VIGIL_RPZ_FILE": str(tmp_path / "z")}))
    with pytest.raises(ConnectorError, match="rpz connector cannot block-hash.*BLOCK_CONNECTOR"):
        connectors.for_action(Action.BLOCK_HASH)


async def test_none_names_the_setting(make_services):
    services = make_services(
        {
            "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "none",
            "VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "none",
        }
    )
    connectors = connectors_from_config(services)
    with pytest.raises(ConnectorError) as raised:
        connectors.for_action(Action.BLOCK_DOMAIN)
    assert str(raised.value) == (
        "no connector is configured for block-domain; set VIGIL_CONTAINMENT_BLOCK_CONNECTOR"
    )
    with pytest.raises(ConnectorError, match="VIGIL_CONTAINMENT_ISOLATE_CONNECTOR"):
        connectors.for_action(Action.ISOLATE_ENDPOINT)
    assert connectors.all() == []


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "dns"}, "containment.block_connector"),
        ({"VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "rpz"}, "containment.isolate_connector"),
        ({"VIGIL_MDE_URL": "http://api.securitycenter.microsoft.com"}, "containment.mde.url"),
        ({"VIGIL_MDE_URL": "ftp://127.0.0.1"}, "containment.mde.url"),
        ({"VIGIL_MDE_URL": "https://user:pw@mde.example"}, "containment.mde.url"),
        ({"VIGIL_SOAR_WEBHOOK_URL": "http://soar.example.com/hook"}, "containment.soar.url"),
        ({"VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "soar"}, "containment.soar.url"),
        ({"VIGIL_RPZ_ZONE": "rpz vigil\n$INCLUDE x"}, "containment.rpz.zone"),
        ({"VIGIL_RPZ_TTL": "-1"}, "containment.rpz.ttl_seconds"),
        ({"VIGIL_MDE_CALLS_PER_MINUTE": "500"}, "containment.mde.calls_per_minute"),
        ({"VIGIL_MDE_INDICATOR_SEVERITY": "Critical"}, "containment.mde.indicator_severity"),
    ],
)
def test_bad_values_fail_naming_the_key(environ, named):
    with pytest.raises(ConfigError) as raised:
        ConnectorSettings.load(RawConfig({}, environ))
    assert named in str(raised.value)


def test_loopback_http_is_allowed_for_local_fakes():
    settings = ConnectorSettings.load(
        RawConfig(
            {},
            {
                "VIGIL_MDE_URL": "http://127.0.0.1:8443/",
                "VIGIL_SOAR_WEBHOOK_URL": "http://localhost:9000/hook",
                "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "SOAR",
            },
        )
    )
    assert settings.mde_url == "http://127.0.0.1:8443"
    assert settings.isolate_connector == "soar"


def test_config_check_shows_the_connector_settings_and_their_errors():
    lines = effective_config(RawConfig({}, {"VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "dns"}))
    text = "\n".join(lines)
    assert "✓ containment.isolate_connector = 'mde'" in text
    assert "✓ containment.rpz.zone = 'rpz.vigil.local'" in text
    assert "✗ containment.block_connector (env VIGIL_CONTAINMENT_BLOCK_CONNECTOR) = 'dns'" in text
    assert (
        "✗ containment.soar.url"
        in effective_config(RawConfig({}, {"VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "soar"}))[-1]
    )
