"""The internal-address guard as a table: what must never leave, and what may."""

from __future__ import annotations

import ipaddress

import pytest

from bot.intel.guard import InternalGuard
from bot.intel.indicators import classify
from bot.intel.settings import IntelSettings
from bot.kernel.config import ConfigError, RawConfig

INTERNAL = [
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",
    "100.127.255.254",
    "224.0.0.251",
    "239.255.255.250",
    "0.0.0.0",  # noqa: S104 - a value under test, not a bind address
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fd12:3456::1",
    "fc00::1",
    "ff02::1",
    "::ffff:10.0.0.1",  # IPv4-mapped
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "printer.local",
    "db.internal",
    "nas.lan",
    "dc01.corp",
    "router.home.arpa",
    "app.localhost",
    "http://10.0.0.1/admin",
    "https://[fe80::1]/",
    "http://wiki.corp/page",
    "http://user@192.168.1.1:8080/",
]

PUBLIC = [
    "192.0.2.1",  # documentation ranges stand in for public addresses
    "198.51.100.23",
    "203.0.113.9",
    "2001:db8::1",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "evil.example.com",
    "local.example.com",  # "local" as a label elsewhere is not a suffix
    "corporate.example",
    "http://198.51.100.23/x",
    "http://10.0.0.1.example.com/",
    "44d88612fea8a8f36de82e1f5c8eb5a5",
]


@pytest.mark.parametrize("text", INTERNAL)
def test_internal(text):
    assert InternalGuard().is_internal(classify(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public(text):
    assert not InternalGuard().is_internal(classify(text))


def test_configured_networks_and_domains_add_to_the_defaults():
    raw = RawConfig(
        {},
        {
            "VIGIL_INTEL_INTERNAL_NETWORKS": "198.51.100.0/24, 2001:db8:1::/48",
            "VIGIL_INTEL_INTERNAL_DOMAINS": ".example.com,acme.test",
        },
    )
    guard = IntelSettings.load(raw).guard
    for text in ("198.51.100.7", "2001:db8:1::5", "evil.example.com", "x.acme.test", "a.local"):
        assert guard.is_internal(classify(text)), text
    for text in ("203.0.113.1", "2001:db8:2::5", "example.org"):
        assert not guard.is_internal(classify(text)), text


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("VIGIL_INTEL_INTERNAL_NETWORKS", "10.0.0.0/33"),
        ("VIGIL_INTEL_INTERNAL_NETWORKS", "not-a-network"),
        ("VIGIL_INTEL_SOURCE_TIMEOUT", "0"),
        ("VIGIL_INTEL_VIRUSTOTAL_URL", "ftp://example.com"),
        ("VIGIL_INTEL_VIRUSTOTAL_PER_MINUTE", "-1"),
    ],
)
def test_wrong_settings_name_the_key(env, value):
    with pytest.raises(ConfigError, match=r"intel\."):
        IntelSettings.load(RawConfig({}, {env: value}))


def test_the_stdlib_alone_would_be_wrong():
    # Why the guard has its own table: is_private flags the documentation ranges.
    assert ipaddress.ip_address("198.51.100.23").is_private
    assert not InternalGuard().is_internal(classify("198.51.100.23"))
