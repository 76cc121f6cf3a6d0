"""The internal-address guard: decides which indicators must never leave the company.

`ipaddress.is_private` is not used on its own: it counts the documentation ranges
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) as private, and those stand in for public
addresses in examples and tests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from bot.intel.indicators import Indicator, IndicatorType

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

INTERNAL_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "100.64.0.0/10",  # CGNAT (RFC 6598)
        "224.0.0.0/4",  # multicast
        "0.0.0.0/8",  # "this network", includes the unspecified address
        "255.255.255.255/32",  # limited broadcast
        "::1/128",
        "::/128",
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local, still internal where it is used
        "fc00::/7",  # ULA
        "ff00::/8",  # multicast
    )
)

# Always internal; VIGIL_INTEL_INTERNAL_DOMAINS adds to these rather than replacing them, so a
# configuration typo cannot send `.local` names outside.
INTERNAL_DOMAIN_SUFFIXES: tuple[str, ...] = (
    "local",
    "internal",
    "lan",
    "corp",
    "home.arpa",
    "localhost",
    "intranet",
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried by a mapped, 6to4 or NAT64 IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class InternalGuard:
    """Internal networks and domain suffixes; `is_internal` says what stays inside."""

    networks: tuple[Network, ...] = INTERNAL_NETWORKS
    domain_suffixes: tuple[str, ...] = INTERNAL_DOMAIN_SUFFIXES

    @classmethod
    def with_extra(cls, networks: Iterable[Network], suffixes: Iterable[str]) -> InternalGuard:
        extra = tuple(s.strip().strip(".").lower() for s in suffixes if s.strip().strip("."))
        return cls(INTERNAL_NETWORKS + tuple(networks), INTERNAL_DOMAIN_SUFFIXES + extra)

    def is_internal_ip(self, text: str) -> bool:
        address = ipaddress.ip_address(text)
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None and self.is_internal_ip(str(embedded)):
                return True
        return any(address in network for network in self.networks)

    def is_internal_domain(self, name: str) -> bool:
        name = name.rstrip(".").lower()
        return any(name == suffix or name.endswith("." + suffix) for suffix in self.domain_suffixes)

    def is_internal(self, indicator: Indicator) -> bool:
        """True for internal IPs, domains and URLs whose host is internal; never for a hash."""
        if indicator.type is IndicatorType.HASH:
            return False
        host = indicator.host
        if host is None:
            return True  # a URL without a host cannot be checked outside; keep it in
        if indicator.host_type is IndicatorType.IP:
            return self.is_internal_ip(host)
        return self.is_internal_domain(host)
