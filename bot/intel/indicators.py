"""Indicators: refang, classify and canonicalise one value, or extract every indicator from a paste.

Domains are normalised with IDNA 2008 (UTS #46, non-transitional) through the `idna` package,
not Python's built-in IDNA 2003 codec: registries use IDNA 2008, and 2003 maps `faß.de` to
`fass.de`, a different domain that could belong to someone else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

import idna

MAX_PASTE_INDICATORS = 100
# A paste longer than this is cut before scanning. Teams caps a message near 28 KB, so a chat
# paste is never cut; the bound keeps one message's CPU small whatever reaches the body limit.
MAX_INPUT_CHARS = 32_000
MAX_URL_CHARS = 2048


class IndicatorType(StrEnum):
    IP = "ip"
    DOMAIN = "domain"
    URL = "url"
    HASH = "hash"


HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}


class InvalidIndicator(ValueError):
    """The text is not an IP address, domain, URL or MD5/SHA-1/SHA-256 hash."""


@dataclass(frozen=True)
class Indicator:
    """One canonical indicator: `value` is refanged and normalised (lower-case, IDNA A-labels)."""

    value: str
    type: IndicatorType

    @property
    def hash_kind(self) -> str | None:
        return HASH_KINDS.get(len(self.value)) if self.type is IndicatorType.HASH else None

    @property
    def host(self) -> str | None:
        """The host an IP, domain or URL points at (None for a hash)."""
        if self.type in (IndicatorType.IP, IndicatorType.DOMAIN):
            return self.value
        if self.type is IndicatorType.URL:
            return urlsplit(self.value).hostname
        return None

    @property
    def host_type(self) -> IndicatorType | None:
        host = self.host
        if host is None:
            return None
        return IndicatorType.IP if _parse_ip(host) is not None else IndicatorType.DOMAIN


@dataclass(frozen=True)
class Extraction:
    """The indicators found in a paste, in order of first appearance, and how many were cut."""

    indicators: tuple[Indicator, ...]
    left_out: int = 0
    cut_at: int | None = None  # the text was longer: only its first `cut_at` characters were read


# Defanging conventions seen in reports and tickets; applied case-insensitively.
def _http(match: re.Match[str]) -> str:
    return "http" + match.group(1).lower()


_DEFANGS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"\bhxxp(s?)(?=(?:\[:\]|:)//|\[://\])", re.IGNORECASE), _http),
    (re.compile(r"\bh\[tt\]p(s?)(?=(?:\[:\]|:)//|\[://\])", re.IGNORECASE), _http),
    (re.compile(r"\bfxp(?=(?:\[:\]|:)//|\[://\])", re.IGNORECASE), "ftp"),
    (re.compile(r"\[://\]"), "://"),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}", re.IGNORECASE), "."),
    (re.compile(r"\[at\]|\[@\]|\(at\)|\{at\}", re.IGNORECASE), "@"),
)


def refang(text: str) -> str:
    """Undo the usual defanging: hxxp, [.], (.), {.}, [:], [at], [@] and friends."""
    for pattern, replacement in _DEFANGS:
        text = pattern.sub(replacement, text)
    return text


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_HEX = re.compile(r"[0-9a-fA-F]+")
_LDH_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PORT = r"(?::(?P<port>\d{1,5}))?"
_IPV4_PORT = re.compile(r"(?P<ip>\d{1,3}(?:\.\d{1,3}){3})" + _PORT)
_IPV6_BRACKETED = re.compile(r"\[(?P<ip>[0-9A-Fa-f:.%a-zA-Z]+)\]" + _PORT)


def canonical_ip(text: str) -> str:
    """An IPv4 or IPv6 address, optionally with a port (`[v6]:port`), as its canonical address."""
    text = text.strip()
    for pattern in (_IPV4_PORT, _IPV6_BRACKETED):
        match = pattern.fullmatch(text)
        if match:
            port = match.group("port")
            if port is not None and not 0 < int(port) < 65536:
                raise InvalidIndicator(f"port out of range in {text!r}")
            text = match.group("ip")
            break
    address = _parse_ip(text)
    if address is None or (isinstance(address, ipaddress.IPv6Address) and address.scope_id):
        raise InvalidIndicator(f"not an IP address: {text!r}")
    return address.compressed


def canonical_domain(text: str) -> str:
    """A domain as lower-case IDNA 2008 A-labels; raises InvalidIndicator when not a domain."""
    name = text.strip().rstrip(".")
    if not name or len(name) > 253 * 4:
        raise InvalidIndicator("not a domain name")
    try:
        if name.isascii():
            name = name.lower()
            # Validates existing A-labels (xn--) by round-tripping them.
            if "xn--" in name:
                name = idna.encode(idna.decode(name), uts46=False).decode("ascii")
        else:
            name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise InvalidIndicator(f"not a valid domain name: {exc}") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2:
        raise InvalidIndicator("a domain needs at least two labels and at most 253 characters")
    if not all(_LDH_LABEL.fullmatch(label) for label in labels):
        raise InvalidIndicator("domain labels use letters, digits and inner hyphens only")
    tld = labels[-1]
    if tld.isdigit() or (not tld.isalpha() and not tld.startswith("xn--")):
        raise InvalidIndicator("the top-level domain must be alphabetic")
    return name


def canonical_hash(text: str) -> str:
    text = text.strip()
    if len(text) not in HASH_KINDS or not _HEX.fullmatch(text):
        raise InvalidIndicator("a hash is 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits")
    return text.lower()


_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def canonical_url(text: str) -> str:
    """A URL with lower-case scheme and host, IDNA host, no default port, and a path."""
    text = text.strip()
    if len(text) > MAX_URL_CHARS:
        raise InvalidIndicator(f"URL longer than {MAX_URL_CHARS} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text):
        raise InvalidIndicator("a URL cannot contain spaces or control characters")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidIndicator(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidIndicator("only http, https and ftp URLs are checked")
    raw_host = parts.hostname
    if not raw_host:
        raise InvalidIndicator("the URL has no host")
    if _parse_ip(raw_host) is not None:
        host = canonical_ip(raw_host)
        netloc_host = f"[{host}]" if ":" in host else host
    else:
        host = canonical_domain(raw_host)
        netloc_host = host
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = (userinfo + "@" if userinfo else "") + netloc_host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def classify(text: str) -> Indicator:
    """Refang and classify one value given explicitly (a command argument)."""
    value = refang(text.strip())
    if not value:
        raise InvalidIndicator("empty indicator")
    if "://" in value:
        return Indicator(canonical_url(value), IndicatorType.URL)
    try:
        return Indicator(canonical_ip(value), IndicatorType.IP)
    except InvalidIndicator:
        pass
    if len(value) in HASH_KINDS and _HEX.fullmatch(value):
        return Indicator(canonical_hash(value), IndicatorType.HASH)
    if "/" in value:
        return Indicator(canonical_url(value), IndicatorType.URL)
    if "@" in value:  # an e-mail address: the sender's domain is what can be checked
        value = value.rpartition("@")[2]
    if re.fullmatch(r"[\d.]+", value):
        raise InvalidIndicator(f"not an IP address: {value!r}")
    try:
        return Indicator(canonical_domain(value), IndicatorType.DOMAIN)
    except InvalidIndicator:
        raise InvalidIndicator(
            f"{_shorten(text)!r} is not an IP address, domain, URL or MD5/SHA-1/SHA-256 hash"
        ) from None


def classify_as(text: str, expected: IndicatorType) -> Indicator:
    """Classify `text` and insist on one type (for check-ip, check-domain and friends)."""
    indicator = classify(text)
    if indicator.type is not expected:
        raise InvalidIndicator(f"{_shorten(text)!r} is a {indicator.type.value}, not a {expected}")
    return indicator


def _shorten(text: str, limit: int = 80) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Extraction: one scanner; earlier alternatives win, so a domain inside a URL or an e-mail
# address is not reported twice.
#
# Every alternative reads what it matches once. An e-mail address may only start where a run of
# local-part characters starts: tried at every character of a run, `[\w.%+-]+@` read the rest
# of the run each time, quadratic in a long word ("x" * 140000 took 28 s). Where to look for
# the "@" depends only on the run, never on where in it the address starts, so a run that is
# no address at its start is none further in either; `_scan` tries the one other start
# finditer could reach (just after the previous match) and remembers the run it read.
_LABEL = r"[\w-]{1,63}"
_DOMAIN = rf"(?:{_LABEL}\.)+{_LABEL}"
_LOCAL_CHARS = r"[\w.%+-]"
_EMAIL = rf"(?P<email>{_LOCAL_CHARS}+@(?P<mailhost>{_DOMAIN}))"
_SCANNER = re.compile(
    r"(?P<url>\b(?:https?|ftp)://[^\s<>\"'`{}|\\^]+)"
    rf"|(?<!{_LOCAL_CHARS}){_EMAIL}"
    r"|(?P<ip6b>\[[0-9A-Fa-f:.]+\](?::\d{1,5})?)"
    r"|(?P<hash>(?<![\w])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})(?![\w]))"
    # An address followed by ".label" is the start of a domain name ("0.0.0.0.com").
    r"|(?P<ip4>(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w]|\.[\w-]))"
    r"|(?P<ip6>(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}(?![\w:]))"
    rf"|(?P<domain>(?<![\w@.-]){_DOMAIN}(?![\w-]))",
)
_EMAIL_AT = re.compile(_EMAIL)
_LOCAL_RUN = re.compile(rf"{_LOCAL_CHARS}*+")


def _scan(text: str) -> Iterator[re.Match[str]]:
    """The scanner's matches, left to right, as `finditer` without the e-mail start rule would
    give them, in time linear in the text."""
    position = 0
    read_up_to = 0  # the end of the last local-part run found to lead to no address
    while position <= len(text):
        match = None
        if 0 < position < len(text) and position >= read_up_to:
            # The previous match ended inside a run: an address may start right here.
            if _LOCAL_RUN.match(text, position - 1, position + 1).end() == position + 1:
                match = _EMAIL_AT.match(text, position)
                if match is None:
                    read_up_to = _LOCAL_RUN.match(text, position).end()
        if match is None:
            match = _SCANNER.search(text, position)
            if match is None:
                return
        yield match
        position = match.end() if match.end() > match.start() else match.end() + 1


# Names ending like a file are far more often an attachment than a domain in a paste.
_FILE_SUFFIXES = frozenset(
    "exe dll sys scr bat cmd ps1 vbs js jse hta msi lnk iso img doc docx docm xls xlsx xlsm "
    "ppt pptx pdf rtf txt log csv json xml html htm png jpg jpeg gif svg zip rar 7z gz tar tgz "
    "py sh jar apk dmg eml msg".split()
)


def trim_url(url: str) -> str:
    """A URL found in prose without the punctuation and unbalanced brackets that follow it."""
    url = url.rstrip(".,;:!?'\"")
    # Counted once and cut by index: recounting per bracket was quadratic in a run of ")".
    end, surplus = len(url), url.count(")") - url.count("(")
    while surplus > 0 and url.endswith(")", 0, end):
        end, surplus = end - 1, surplus - 1
        while end and url[end - 1] in ".,;:!?":
            end -= 1
    surplus = url.count("]", 0, end) - url.count("[", 0, end)
    while surplus > 0 and url.endswith("]", 0, end):
        end, surplus = end - 1, surplus - 1
    return url[:end]


def _candidate(match: re.Match[str]) -> Indicator | None:
    kind = match.lastgroup
    text = match.group(kind or 0)
    try:
        if kind == "url":
            return Indicator(canonical_url(trim_url(text)), IndicatorType.URL)
        if kind == "email":
            return Indicator(canonical_domain(match.group("mailhost")), IndicatorType.DOMAIN)
        if kind in ("ip4", "ip6", "ip6b"):
            return Indicator(canonical_ip(text.rstrip(".")), IndicatorType.IP)
        if kind == "hash":
            return Indicator(canonical_hash(text), IndicatorType.HASH)
        if kind == "domain":
            if text.rsplit(".", 1)[-1].lower() in _FILE_SUFFIXES:
                return None
            return Indicator(canonical_domain(text), IndicatorType.DOMAIN)
    except InvalidIndicator:
        return None
    return None


def extract(
    text: str, limit: int = MAX_PASTE_INDICATORS, *, max_chars: int = MAX_INPUT_CHARS
) -> Extraction:
    """Every indicator in the first `max_chars` of a text, de-duplicated, first `limit` kept in
    order. Linear in the text, but up to ~60 ms for a hostile 32 KB: async callers run it in a
    worker thread (`asyncio.to_thread`) so that the event loop is never held that long."""
    cut_at = max_chars if len(text) > max_chars else None
    text = refang(text[:max_chars])
    seen: dict[Indicator, None] = {}
    # A pasted log repeats its indicators: each distinct text is canonicalised once.
    decided: dict[tuple[str | None, str], Indicator | None] = {}
    for match in _scan(text):
        key = (match.lastgroup, match.group(0))
        if key not in decided:
            decided[key] = indicator = _candidate(match)
            if indicator is not None:
                seen.setdefault(indicator, None)
    found = tuple(seen)
    return Extraction(found[:limit], max(0, len(found) - limit), cut_at)


async def extract_in_worker(text: str) -> Extraction:
    """`extract` in a worker thread: the event loop keeps answering while a long paste is read."""
    return await asyncio.to_thread(extract, text)
