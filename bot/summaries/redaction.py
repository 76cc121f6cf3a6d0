"""Redaction for executives: internal hosts and addresses become their roles, indicators are
defanged. Pure functions over plain text; the card renderer escapes the result as data.

Rules, in the order the scanner tries them on refanged text:
- URL: internal host → the host's role; else defanged (hxxps://evil[.]example/...). A URL the
  parser refuses (bad port, one-label host, too long) is judged by its host alone: one label,
  an internal address or name → role; else scheme and host defanged as written.
- e-mail: internal domain or address → "an internal account"; else defanged.
- IP address: internal (the intel guard's sense) → glob role or the default address role;
  else defanged (IPv4: last dot bracketed). Zero-padded dotted quads are internal when either
  the decimal or the inet_aton (octal) reading is.
- domain name: internal suffix or a first label matching a role glob → role; else defanged.
  Names ending like a file (report.pdf) and version-like words (v1.2) are left alone.
- bare word matching a role glob, or a known internal host (an isolated endpoint) → role.
- hashes are shown lower-case as they are (they are not links).
Names in `keep` (the commander's choice) stay as written; indicators are defanged regardless.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from bot.intel.indicators import (
    Indicator,
    IndicatorType,
    InvalidIndicator,
    canonical_domain,
    canonical_ip,
    canonical_url,
    refang,
    trim_url,
)
from bot.intel.presentation import defang
from bot.summaries.settings import RolePolicy

MAX_TEXT = 4000
INTERNAL_ACCOUNT = "an internal account"

_LABEL = r"[\w-]{1,63}"
_DOMAIN = rf"(?:{_LABEL}\.)+{_LABEL}"
_SCANNER = re.compile(
    r"(?P<url>\b(?:https?|ftp)://[^\s<>\"'`{}|\\^]+)"
    rf"|(?P<email>(?<![\w.%+-])[\w.%+-]{{1,64}}@(?P<mailhost>{_DOMAIN}))"
    r"|(?P<ip6b>\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?)"
    r"|(?P<hash>(?<![\w])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})(?![\w]))"
    r"|(?P<ip4>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w]|\.[\w-]))"
    r"|(?P<ip6>(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}(?![\w:]))"
    rf"|(?P<domain>(?<![\w@.-]){_DOMAIN}(?![\w-]))"
    r"|(?P<word>(?<![\w@.-])[A-Za-z0-9][\w-]{0,62}(?![\w-]))"
)
_FILE_SUFFIXES = frozenset(
    "exe dll sys scr bat cmd ps1 vbs js jse hta msi lnk iso img doc docx docm xls xlsx xlsm "
    "ppt pptx pdf rtf txt log csv json xml html htm png jpg jpeg gif svg zip rar 7z gz tar tgz "
    "py sh jar apk dmg eml msg".split()
)
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_AUTHORITY_END = re.compile(r"[/?#\\]")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def redact(
    text: str,
    policy: RolePolicy,
    *,
    keep: Collection[str] = (),
    hosts: Collection[str] = (),
) -> str:
    """`text` with internal names replaced by roles (unless kept) and indicators defanged.

    `hosts` are names known to be internal hosts (isolated endpoints) even without a glob.
    """
    kept = {name.lower() for name in keep}
    known = {name.lower() for name in hosts}
    text = refang(text[:MAX_TEXT])

    def replace(match: re.Match[str]) -> str:
        found = _classify(match, policy, known)
        if found is None:
            return match.group(0)
        name, role, shown = found
        if role is None:
            return shown
        return match.group(0) if name.lower() in kept else role

    return _SCANNER.sub(replace, text)


def internal_names(
    texts: Iterable[str], policy: RolePolicy, *, hosts: Collection[str] = ()
) -> list[str]:
    """The internal names redaction would replace, in order of first appearance."""
    known = {name.lower() for name in hosts}
    seen: dict[str, None] = {}
    for text in texts:
        for match in _SCANNER.finditer(refang(text[:MAX_TEXT])):
            found = _classify(match, policy, known)
            if found is not None and found[1] is not None:
                seen.setdefault(found[0], None)
    return list(seen)


def _classify(
    match: re.Match[str], policy: RolePolicy, known: set[str]
) -> tuple[str, str | None, str] | None:
    """(name as written, its role if internal, how it is shown if external) or None to keep."""
    kind = match.lastgroup
    text = match.group(0)
    try:
        if kind == "url":
            url = trim_url(text)
            try:
                return _url(url, text, policy, known)
            except InvalidIndicator:
                return _rough_url(url, text, policy, known)
        if kind == "email":
            return _email(text, match.group("mailhost"), policy)
        if kind in ("ip4", "ip6", "ip6b"):
            return _ip(text, policy)
        if kind == "hash":
            return text, None, text.lower()
        if kind == "domain":
            return _domain(text, policy, known)
        if kind == "word":
            role = _host_role(text, policy, known)
            return None if role is None else (text, role, text)
    except InvalidIndicator:
        return None
    return None


def _url(
    url: str, written: str, policy: RolePolicy, known: set[str]
) -> tuple[str, str | None, str]:
    tail = written[len(url) :]
    indicator = Indicator(canonical_url(url), IndicatorType.URL)
    host = indicator.host or ""
    if indicator.host_type is IndicatorType.IP:
        internal = policy.guard.is_internal_ip(host)
        role = (policy.role_for(host) or policy.default_address_role) if internal else None
    else:
        role = _host_role(host, policy, known)
        if role is None and policy.guard.is_internal_domain(host):
            role = policy.default_host_role
    if role is not None:
        return url, role + tail, url + tail
    return url, None, defang(indicator) + tail


def _rough_url(
    url: str, written: str, policy: RolePolicy, known: set[str]
) -> tuple[str, str | None, str]:
    """A URL the parser refuses (a port out of range, a zero-padded address, a one-label host,
    over 2,048 characters): its host alone decides, and it is never shown clickable."""
    tail = written[len(url) :]
    scheme, _, rest = url.partition("://")
    authority = _AUTHORITY_END.split(rest, maxsplit=1)[0]
    path = rest[len(authority) :]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        host = host[1:].partition("]")[0].partition("%")[0]
    else:
        host = host.partition(":")[0]
    role = _rough_host_role(host.rstrip("."), policy, known)
    if role is not None:
        return url, role + tail, url + tail
    shown = re.sub("^(?i:h)(?i:tt)", "hxx", scheme) + "://" + authority.replace(".", "[.]") + path
    return url, None, shown + tail


def _rough_host_role(host: str, policy: RolePolicy, known: set[str]) -> str | None:
    if not host:
        return None
    if ":" in host or _DOTTED_QUAD.fullmatch(host):
        try:
            return _ip(host, policy)[1]
        except InvalidIndicator:
            pass
    role = _host_role(host, policy, known)
    if role is not None:
        return role
    if "." not in host or policy.guard.is_internal_domain(host):
        return policy.default_host_role  # one label: a name only the internal network resolves
    return None


def _email(text: str, mailhost: str, policy: RolePolicy) -> tuple[str, str | None, str]:
    local = text[: len(text) - len(mailhost) - 1]
    if _DOTTED_QUAD.fullmatch(mailhost):  # user@10.0.0.5: the host is an address
        _, role, shown = _ip(mailhost, policy)
        return (text, INTERNAL_ACCOUNT, text) if role else (text, None, f"{local}@{shown}")
    domain = canonical_domain(mailhost)
    if policy.guard.is_internal_domain(domain):
        return text, INTERNAL_ACCOUNT, text
    return text, None, f"{local}@{domain.replace('.', '[.]')}"


def _ip(text: str, policy: RolePolicy) -> tuple[str, str | None, str]:
    try:
        address = canonical_ip(text.rstrip("."))
    except InvalidIndicator:
        return _odd_ipv4(text, policy)
    if policy.guard.is_internal_ip(address):
        return text, policy.role_for(address) or policy.default_address_role, text
    if ":" in address:
        return text, None, address
    head, _, last = address.rpartition(".")
    return text, None, f"{head}[.]{last}"


def _odd_ipv4(text: str, policy: RolePolicy) -> tuple[str, str | None, str]:
    """A dotted quad the address parser refuses: zero-padded octets (010.000.000.001, which
    some tools read as octal), non-ASCII digits or a port out of range. Internal under any
    reading → role; else shown defanged as written. Raises InvalidIndicator when no reading."""
    quad = text.split(":", 1)[0].rstrip(".")
    parts = quad.split(".")
    if len(parts) != 4 or not all(part.isdigit() for part in parts):
        raise InvalidIndicator(f"not an IP address: {text!r}")
    readings = [[int(part) for part in parts]]
    if all(part.isascii() for part in parts):
        # inet_aton: an octet with a leading zero is octal.
        readings.append([_octal_or_decimal(part) for part in parts])
    addresses = [".".join(map(str, octets)) for octets in readings if max(octets) <= 255]
    if not addresses:
        raise InvalidIndicator(f"not an IP address: {text!r}")
    for address in addresses:
        if policy.guard.is_internal_ip(address):
            return text, policy.role_for(address) or policy.default_address_role, text
    head, _, last = quad.rpartition(".")
    return text, None, f"{head}[.]{last}"


def _octal_or_decimal(part: str) -> int:
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if set(part) <= set("01234567") else 256  # 256: no such octet
    return int(part)


def _domain(text: str, policy: RolePolicy, known: set[str]) -> tuple[str, str | None, str] | None:
    tld = text.rsplit(".", 1)[-1].lower()
    role = _host_role(text, policy, known)
    if role is not None:
        return text, role, text
    if tld in _FILE_SUFFIXES or not _TLD.fullmatch(tld):
        return None
    domain = canonical_domain(text)
    if policy.guard.is_internal_domain(domain):
        return text, policy.default_host_role, text
    return text, None, defang(Indicator(domain, IndicatorType.DOMAIN))


def _host_role(name: str, policy: RolePolicy, known: set[str]) -> str | None:
    role = policy.role_for(name)
    if role is not None:
        return role
    lowered = name.lower().rstrip(".")
    if lowered in known or lowered.split(".", 1)[0] in known:
        return policy.default_host_role
    return None
