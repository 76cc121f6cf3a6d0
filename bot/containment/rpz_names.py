"""Owner names for response policy zone records, from untrusted targets.

Every name that reaches the zone file passes through here: IDNA-encoded, letters, digits and
hyphens only, so no user text can put a newline, a `;`, a `$` directive or a wildcard in the file.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import idna

from bot.containment.connector import Action

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# RFC 1035: 255 octets on the wire, 253 characters in text form.
MAX_NAME = 253


class BadTarget(ValueError):
    """The target cannot be expressed as an RPZ trigger; the message says why."""


def dns_name(text: str) -> str:
    """The lower-case ASCII (IDNA) form of a host name, or BadTarget."""
    if not isinstance(text, str) or not text or len(text) > 1024:
        raise BadTarget("expected a domain name")
    name = text.strip().rstrip(".")
    if any(ch.isspace() or ord(ch) < 32 for ch in name) or not name:
        raise BadTarget("a domain name has no spaces or control characters")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise BadTarget(f"not a valid domain name ({exc})") from None
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise BadTarget("expected a domain with at least two labels, such as evil.example.com")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise BadTarget("a domain name has only letters, digits and hyphens between dots")
    if len(ascii_name) > MAX_NAME:
        raise BadTarget(f"a domain name has at most {MAX_NAME} characters")
    return ascii_name


def ip_trigger(text: str) -> str:
    """The rpz-ip owner for one address: 32.<reversed octets> or 128.<reversed groups, zz>."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise BadTarget("expected one IPv4 or IPv6 address (no CIDR ranges)") from None
    if isinstance(address, ipaddress.IPv4Address):
        return "32." + ".".join(reversed(str(address).split("."))) + ".rpz-ip"
    groups = [int.from_bytes(address.packed[i : i + 2], "big") for i in range(0, 16, 2)]
    start, length = _longest_zero_run(groups)
    parts = [format(group, "x") for group in groups]
    if length >= 2:
        parts[start : start + length] = ["zz"]
    return "128." + ".".join(reversed(parts)) + ".rpz-ip"


def _longest_zero_run(groups: list[int]) -> tuple[int, int]:
    """RFC 5952: the longest run of zero groups, the first one on a tie."""
    best = (0, 0)
    run_start, run = 0, 0
    for index, group in enumerate(groups):
        if group == 0:
            if run == 0:
                run_start = index
            run += 1
            if run > best[1]:
                best = (run_start, run)
        else:
            run = 0
    return best


def url_host(text: str) -> str:
    """The host part of a URL (RPZ blocks names and addresses, never paths)."""
    value = text.strip()
    if "://" not in value:
        value = "http://" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        raise BadTarget("not a valid URL") from None
    if not host:
        raise BadTarget("the URL has no host name")
    return host


def owners(action: Action, target: str, zone: str) -> tuple[str, ...]:
    """Relative owner names that block `target`; BadTarget when RPZ cannot express it."""
    if action is Action.BLOCK_DOMAIN:
        names = _name_owners(dns_name(target))
    elif action is Action.BLOCK_IP:
        names = (ip_trigger(target),)
    elif action is Action.BLOCK_URL:
        host = url_host(target)
        try:
            names = (ip_trigger(host),)
        except BadTarget:
            names = _name_owners(dns_name(host))
    else:
        raise BadTarget(f"an RPZ file cannot {action.command} (it blocks names and addresses)")
    for name in names:
        if len(name) + 1 + len(zone) > MAX_NAME:
            raise BadTarget(f"{name} is too long to fit under the zone {zone}")
    return names


def _name_owners(name: str) -> tuple[str, ...]:
    # The name itself and everything under it, as RPZ QNAME triggers.
    return (name, f"*.{name}")
