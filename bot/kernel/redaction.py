"""Redaction of secrets, tokens, credentials and opt-in PII before text is posted or logged.

Rules, applied in this order, each replacing only the sensitive part with "[REDACTED]":
1. the exact values of configured secrets (also URL-encoded), at least MIN_SECRET_LENGTH long;
2. PEM private key blocks;
3. credentials in URLs: scheme://user:password@host -> scheme://[REDACTED]@host;
4. key/value pairs whose key names a credential (password=, apikey:, "client_secret": ...);
   short, ambiguous keys (key, pass, auth, sig, credential) only with "=";
5. "Bearer <token>" and "Basic <token>" when the token looks like one (digit, symbol or mixed case);
6. JWTs, AWS access key ids, GitHub, Slack, Google and Stripe tokens, Slack and Teams webhook URLs;
7. long random base64: a run of 32+ of [A-Za-z0-9+/_-] with upper, lower and digit, whose
   lowercase letters come in runs averaging under 3 (random text, not CamelCase words or paths;
   about 1 in 100 random 32-character strings escapes this, fewer of longer ones). Runs of only
   hex digits and dashes are never redacted by this rule: MD5/SHA-1/SHA-256 hashes and GUIDs are
   indicators and identities, the product's own data;
8. opt-in PII: e-mail addresses, phone numbers, and custom regexes from configuration. PII keeps
   its kind ("[redacted e-mail]", "[redacted phone]"): a reader still knows what stood there.
   A phone number is 9-15 digits that start with "+" or are grouped by spaces, dashes or
   brackets, standing alone: never dotted (IP addresses), never running into letters or more
   hex (GUIDs, hashes, Entra object ids), never a date or time, never a bare run of digits
   (epoch times, ids, counters).

A secret cut short by a display limit ("Hunter2Hun…") is redacted too. Cards are redacted as
their reader sees them (`redact_card`): markdown escapes are read through first, so a token that
a card shows as `ghp\\_...` is still found.

Every built-in pattern starts at a boundary and uses possessive quantifiers, so each is linear in
the input. Custom patterns run as given: keep them simple.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from bot.kernel.config import RawConfig, Setting, parse_list
from cards.plaintext import ELLIPSIS, escape_markdown

MARK = "[REDACTED]"
PII_MARKS = {"email": "[redacted e-mail]", "phone": "[redacted phone]"}
MIN_SECRET_LENGTH = 6
PII_KINDS = ("email", "phone")
# A secret's starts by their last MIN_SECRET_LENGTH characters: (secret, length of the start).
_StartIndex = dict[str, list[tuple[str, int]]]


def parse_pii(value: Any) -> tuple[str, ...]:
    kinds = tuple(item.lower() for item in parse_list(value))
    for kind in kinds:
        if kind not in PII_KINDS:
            raise ValueError(f"unknown PII kind {kind!r}: expected some of {', '.join(PII_KINDS)}")
    return kinds


def parse_patterns(value: Any) -> tuple[re.Pattern[str], ...]:
    """A TOML array of regexes, or in the environment a JSON array (regexes contain commas)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else [text] if text else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected a JSON array of regexes: {exc.msg}") from None
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) for p in value):
        raise ValueError("expected a list of regular expressions")
    compiled = []
    for index, pattern in enumerate(value):
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern {index + 1} is not a valid regex: {exc}") from None
        if regex.fullmatch(""):
            raise ValueError(f"pattern {index + 1} matches the empty string")
        compiled.append(regex)
    return tuple(compiled)


REDACT_PII = Setting(
    "redaction.pii",
    "VIGIL_REDACT_PII",
    parse_pii,
    (),
    "PII to redact: any of email, phone",
)
REDACT_PATTERNS = Setting(
    "redaction.patterns",
    "VIGIL_REDACT_PATTERNS",
    parse_patterns,
    (),
    "extra regexes to redact (env: a JSON array)",
)
SETTINGS = (REDACT_PII, REDACT_PATTERNS)

# The body runs to its END line (or to the end of the text): a PGP armor's headers have dashes.
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:[^-]++|-(?!----END ))*+"
    r"(?:-----END (?:[A-Z]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----)?+"
)
_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30}+://)[^\s/?#@:]*+:[^\s/?#@]*+@"
)
_STRONG_KEYS = (
    r"(?:x-)?api[-_]?key|apikey|api[-_]?token|access[-_]?key(?:[-_]?id)?|secret[-_]?access[-_]?key"
    r"|(?:access|refresh|id|auth|bearer|session)[-_]?token|client[-_]?secret|secret[-_]?key"
    r"|account[-_]?key|private[-_]?key|shared[-_]?access[-_]?key|password|passwd|pwd|secret"
    r"|token|authorization|x-vigil-signature"
)
_WEAK_KEYS = r"key|pass|auth|sig|signature|credentials?"
_UNQUOTED = r"[^\s\"'&,;<>)}`]++"
_KEY_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9])(?P<head>(?:(?:{_STRONG_KEYS})[\"']?\s*+(?:=|:(?!//))"
    rf"|(?:{_WEAK_KEYS})[\"']?\s*+=)\s*+"
    r"(?:(?:bearer|basic|digest|token|sharedaccesssignature)\s++)?+)"
    # A quoted value (JSON escapes included); a YAML block (`key: |` and the lines up to the next
    # `key:` line: chat text loses its indentation); a few words ended by `;` (`Password=two
    # words;` in a connection string); else one word.
    r"(?:\"(?:[^\"\\\r\n]++|\\.)*+(?P<dq>\"?)|'[^'\r\n]*+(?P<sq>'?)"
    r"|[|>][-+0-9]{0,2}+[ \t]*+(?:\r?\n(?![ \t]*+[\w-]++:(?:\s|$))[^\r\n]*+)*+"
    rf"|{_UNQUOTED}(?:[ \t]++[^\s\"'&,;<>)}}`=]++){{1,8}}+(?=[ \t]*+;)|{_UNQUOTED})"
)
# Digest credentials are a list of key="value" pairs (nonce, response): all of it goes.
_DIGEST = re.compile(r"(?i)(?<![A-Za-z0-9])(?P<key>digest\s++)(?=[A-Za-z]++\s*+=)[^\r\n]++")
# A dict key naming a credential (`db_password`, `clientSecret`): its value goes whole.
_SECRET_NAME = re.compile(rf"(?i)(?:[a-z0-9]+[-_])*?(?:{_STRONG_KEYS})")
_MAX_NAME = 64
_AUTH_SCHEME = re.compile(r"(?i)(?<![A-Za-z0-9])(?P<key>bearer|basic)\s++[A-Za-z0-9._~+/=-]{8,}+")
_TOKENS = re.compile(
    r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*+\.[A-Za-z0-9_-]*+\.[A-Za-z0-9_-]*+"
    r"(?:\.[A-Za-z0-9_-]*+\.[A-Za-z0-9_-]*+)?+"
    r"|(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}+"
    r"(?![A-Z0-9])"
    r"|(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_[A-Za-z0-9_]{30,}+)"
    r"|(?<![A-Za-z0-9-])(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}+"
    r"|(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}+"
    r"|(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}+"
)
_WEBHOOK = re.compile(
    r"(?i)(?P<key>hooks\.slack\.com/(?:services|workflows)/|\.webhook\.office\.com/webhookb2/"
    r"|logic\.azure\.com[^\s?]{0,300}+\?)[^\s\"'<>)]++"
)
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}+=*+")
_HEX_AND_DASHES = re.compile(r"[0-9A-Fa-f-]++")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++")
_PHONE = re.compile(r"(?<![\w+.:/-])\+?+\(?+\d[\d \t()-]{7,24}+")
_PHONE_RUNS_ON = re.compile(r"[\w:/]|\.\w")  # after the digits: part of a GUID, hash, IP or path
_DATE_START = re.compile(r"\d{4}-\d\d-\d\d")


_LOWER_RUN = re.compile(r"[a-z]++")
# A markdown escape as cards.plaintext writes one: a backslash before ASCII punctuation.
_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def looks_random(run: str) -> bool:
    """Rule 7: upper, lower and digits, short lowercase runs (not words), not hex-only."""
    body = run.rstrip("=")
    if len(body) < 32 or _HEX_AND_DASHES.fullmatch(body):
        return False
    if not (any(c.isupper() for c in body) and any(c.isdigit() for c in body)):
        return False
    lower_runs = _LOWER_RUN.findall(body)
    # Random base64 averages under 2 lowercase letters in a row; words and paths 4 or more.
    return bool(lower_runs) and sum(map(len, lower_runs)) < 3 * len(lower_runs)


def _looks_like_token(token: str) -> bool:
    body = token[1:]
    return (
        any(char.isdigit() for char in token)
        or any(char in "._~+/=-" for char in token)
        or (any(c.isupper() for c in body) and any(c.islower() for c in body))
    )


def _keep_key(match: re.Match[str]) -> str:
    return match.group("key") + MARK


class Redactor:
    """Redacts known secret values, credentials and opt-in PII from text and nested data."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        pii: Iterable[str] = (),
        patterns: Iterable[re.Pattern[str] | str] = (),
    ) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._starts: _StartIndex = {}
        self._secret_pattern: re.Pattern[str] | None = None
        self._pii = frozenset(pii)
        self._patterns = tuple(re.compile(p) if isinstance(p, str) else p for p in patterns)
        self._steps = self._build_steps()
        for value in secrets:
            self.remember(value)

    @classmethod
    def from_config(cls, raw: RawConfig, secrets: Iterable[str] = ()) -> Redactor:
        return cls(secrets, pii=raw.get(REDACT_PII), patterns=raw.get(REDACT_PATTERNS))

    def remember(self, value: str) -> None:
        """Redact this secret value from now on (values shorter than MIN_SECRET_LENGTH are not)."""
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            forms = {value, quote(value, safe="")} - self._secrets
            if not forms:
                return
            self._secrets |= forms
            ordered = tuple(sorted(self._secrets, key=len, reverse=True))
            # Built aside and swapped whole: a thread redacting meanwhile sees old or new, not half.
            self._secret_pattern = re.compile("|".join(map(re.escape, ordered)))
            self._starts = _start_index(ordered)

    def redact(self, text: str) -> str:
        """The text with every sensitive part replaced by [REDACTED]."""
        if not text:
            return text
        secret_pattern = self._secret_pattern
        if secret_pattern is not None:
            text = secret_pattern.sub(MARK, text)
            if ELLIPSIS in text:
                text = _cut_secrets(text, self._starts)
        for step in self._steps:
            text = step(text)
        return text

    def _build_steps(self) -> list[Callable[[str], str]]:
        steps: list[Callable[[str], str]] = [
            lambda t: _PRIVATE_KEY.sub(MARK, t),
            lambda t: _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + MARK + "@", t),
            lambda t: _DIGEST.sub(_keep_key, t),
            lambda t: _KEY_VALUE.sub(_replace_value, t),
            lambda t: _AUTH_SCHEME.sub(_replace_auth, t),
            lambda t: _TOKENS.sub(MARK, t),
            lambda t: _WEBHOOK.sub(_keep_key, t),
            lambda t: _BASE64_RUN.sub(_replace_random, t),
        ]
        return steps + self._pii_steps()

    def _pii_steps(self) -> list[Callable[[str], str]]:
        steps: list[Callable[[str], str]] = []
        if "email" in self._pii:
            steps.append(lambda t: _EMAIL.sub(PII_MARKS["email"], t))
        if "phone" in self._pii:
            steps.append(lambda t: _PHONE.sub(_replace_phone, t))
        for pattern in self._patterns:
            steps.append(lambda t, p=pattern: p.sub(MARK, t))
        return steps

    def redact_pii(self, text: str) -> str:
        """Only the configured PII, for text that is transformed before it is posted (an exec
        summary defangs addresses, which the way out's redaction would then no longer see)."""
        for step in self._pii_steps():
            text = step(text)
        return text

    def redact_data(self, obj: Any) -> Any:
        """A copy of nested dicts/lists/tuples with every string (keys included) redacted, and
        the whole value of a key that names a credential (`password`, `client_secret`)."""
        if isinstance(obj, dict):
            return {
                self.redact(k) if isinstance(k, str) else k: (
                    MARK if _names_secret(k) and _is_scalar(v) else self.redact_data(v)
                )
                for k, v in obj.items()
            }
        if isinstance(obj, list | tuple):
            return type(obj)(self.redact_data(item) for item in obj)
        return self.redact(obj) if isinstance(obj, str) else obj

    def redact_shown(self, text: str, *, markdown: bool = True) -> str:
        """Text redacted as its reader sees it, through markdown escapes. Markdown with nothing
        to redact keeps its escapes, redacted markdown is escaped anew; plain text (markdown
        False) is never escaped, since its reader would see the backslashes."""
        if "\\" not in text:
            return self.redact(text)
        shown = _MARKDOWN_ESCAPE.sub(r"\1", text)
        redacted = self.redact(shown)
        if redacted == shown:
            return text if markdown else self.redact(text)
        return escape_markdown(redacted) if markdown else redacted

    def redact_card(self, obj: Any) -> Any:
        """A copy of a card (or any nested data shown as markdown) with every string redacted
        as its reader sees it (`redact_shown`); keys are redacted like `redact_data` does."""
        return _each_string(obj, self.redact_shown, self.redact)


def _each_string(obj: Any, text: Callable[[str], str], key: Callable[[Any], Any]) -> Any:
    """A copy of nested dicts/lists/tuples with `text` applied to every string in it and `key`
    to every dict key."""
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, dict):
        return {key(k): _each_string(v, text, key) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_each_string(item, text, key) for item in obj)
    return obj


def _names_secret(key: Any) -> bool:
    return isinstance(key, str) and len(key) <= _MAX_NAME and bool(_SECRET_NAME.fullmatch(key))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""


def _start_index(secrets: Iterable[str]) -> _StartIndex:
    """Each start of a secret (MIN_SECRET_LENGTH long or more, not whole) by its last
    MIN_SECRET_LENGTH characters, longest first: a text cut before an ellipsis is then checked
    against the few starts its own last characters name, not against every start of every
    secret (which cost seconds on a text of many ellipses when a secret is long)."""
    index: dict[str, list[tuple[str, int]]] = {}
    for secret in secrets:
        for length in range(MIN_SECRET_LENGTH, len(secret)):
            index.setdefault(secret[length - MIN_SECRET_LENGTH : length], []).append(
                (secret, length)
            )
    return {end: sorted(starts, key=lambda s: -s[1]) for end, starts in index.items()}


def _cut_secrets(text: str, starts: _StartIndex) -> str:
    """Redact the start of a secret that a display limit cut short right before an ellipsis."""
    parts = text.split(ELLIPSIS)
    for index in range(len(parts) - 1):
        part = parts[index]
        for secret, length in starts.get(part[-MIN_SECRET_LENGTH:], ()):
            if part.endswith(secret[:length]):
                parts[index] = part[: len(part) - length] + MARK
                break
    return ELLIPSIS.join(parts)


def _replace_value(match: re.Match[str]) -> str:
    head = match.group("head")
    if match.group("dq") is not None:
        return f'{head}"{MARK}{match.group("dq")}'
    if match.group("sq") is not None:
        return f"{head}'{MARK}{match.group('sq')}"
    return head + MARK


def _replace_auth(match: re.Match[str]) -> str:
    token = match.group(0)[len(match.group("key")) :].lstrip()
    if not _looks_like_token(token):
        return match.group(0)
    spacing = match.group(0)[len(match.group("key")) : len(match.group(0)) - len(token)]
    return f"{match.group('key')}{spacing}{MARK}"


def _replace_random(match: re.Match[str]) -> str:
    return MARK if looks_random(match.group(0)) else match.group(0)


def _replace_phone(match: re.Match[str]) -> str:
    candidate = match.group(0).rstrip(" \t(-")
    if candidate.count("(") > candidate.count(")"):
        # "… 0143 (09:20 UTC)": a bracket opened after the number is not part of it.
        candidate = candidate[: candidate.rindex("(")].rstrip(" \t-")
    rest = match.group(0)[len(candidate) :]
    digits = sum(char.isdigit() for char in candidate)
    if not 9 <= digits <= 15 or _DATE_START.match(candidate.lstrip("+(")):
        return match.group(0)
    if not candidate.startswith("+") and candidate.isdigit():
        return match.group(0)  # a bare run of digits: an epoch time, an id, a count
    if not rest and _PHONE_RUNS_ON.match(match.string, match.end()):
        return match.group(0)  # the digits run on into a longer token
    return PII_MARKS["phone"] + rest
