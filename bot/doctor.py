"""`vigil doctor`: check a deployment piece by piece and say in plain words how to fix it."""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bot.app import REQUIRED_SECRETS, ssl_context
from bot.audit.log import AuditLog
from bot.audit.trail import AUDIT_KEY_SECRET
from bot.config_report import configuration_problems
from bot.entra.tokens import APP_PASSWORD_SECRET, TokenUnavailable, bot_connector_tokens
from bot.kernel.config import ConfigError, RawConfig
from bot.kernel.settings import ServiceSettings
from bot.secrets.source import SecretSource, SecretUnavailable, check, secret_source_from_config
from bot.store import NoDatabase, Store, open_configured_store

MAX_SKEW_SECONDS = 300.0
TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"✓ {self.what}"
        return f"✗ {self.what}\n    fix: {self.fix}"


@dataclass
class Context:
    raw: RawConfig
    settings: ServiceSettings | None = None
    store: Store | None = None
    secrets: SecretSource | None = None
    http: aiohttp.ClientSession | None = None
    migrated: bool = False


Check = Callable[[Context], Awaitable[list[Finding]]]


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser("doctor", help="check this deployment and say how to fix it")
    doctor.set_defaults(func=run_doctor)


async def run_doctor(args: argparse.Namespace) -> int:
    try:
        raw = RawConfig.load(args.config)
    except ConfigError as exc:
        print(Finding(False, f"configuration file: {exc}", "fix the file named above").line())
        return 1
    findings = await diagnose(raw)
    for finding in findings:
        print(finding.line())
    failed = sum(1 for finding in findings if not finding.ok)
    print(f"\n{len(findings) - failed} ok, {failed} to fix")
    return 1 if failed else 0


async def diagnose(raw: RawConfig) -> list[Finding]:
    """Run every check; a check that cannot run because an earlier one failed says so."""
    context = Context(raw)
    findings: list[Finding] = []
    try:
        for check_one in (
            check_config,
            check_store,
            check_secrets,
            check_bot_token,
            check_openid_and_clock,
            check_audit_chain,
            check_connectors,
        ):
            findings.extend(await check_one(context))
    finally:
        if context.http:
            await context.http.close()
        if context.secrets:
            await context.secrets.close()
        if context.store:
            await context.store.close()
    return findings


async def check_config(context: Context) -> list[Finding]:
    problems = configuration_problems(context.raw)
    if problems:
        return [
            Finding(False, f"configuration: {problem}", "correct that key (see README)")
            for problem in problems
        ]
    context.settings = ServiceSettings.load(context.raw)
    context.secrets = secret_source_from_config(context.raw)
    context.http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ssl_context(context.settings.ca_bundle)),
        trust_env=False,
        timeout=TIMEOUT,
    )
    return [Finding(True, "configuration valid")]


async def check_store(context: Context) -> list[Finding]:
    try:
        context.store = await asyncio.wait_for(open_configured_store(context.raw), 15)
        await context.store.ping()
    except NoDatabase as exc:
        return [
            Finding(False, str(exc), "run `vigil doctor` with the configuration `vigil serve` uses")
        ]
    except Exception as exc:
        return [
            Finding(
                False,
                f"store unreachable: {type(exc).__name__}: {str(exc)[:160]}",
                "check VIGIL_DB_URL, that the database runs and that Vigil may connect",
            )
        ]
    pending = await context.store.pending_migrations()
    if pending:
        return [
            Finding(
                False,
                f"store reachable, migrations pending: {', '.join(pending)}",
                "run `vigil db migrate`",
            )
        ]
    context.migrated = True
    return [Finding(True, "store reachable and migrated")]


async def check_secrets(context: Context) -> list[Finding]:
    if context.secrets is None or context.settings is None:
        return []
    names = list(REQUIRED_SECRETS)
    if context.settings.app_type != "UserAssignedMSI" and not context.settings.app_password:
        names.append(APP_PASSWORD_SECRET)
    findings = []
    for name, status in (await check(context.secrets, names)).items():
        if status == "ok":
            findings.append(Finding(True, f"secret {name} present"))
        else:
            findings.append(
                Finding(
                    False,
                    f"secret {name}: {status}",
                    f"add the secret '{name}' to Key Vault (VIGIL_KEYVAULT_URL) or set "
                    f"VIGIL_SECRET_{name.upper().replace('-', '_')}",
                )
            )
    return findings


async def check_bot_token(context: Context) -> list[Finding]:
    settings, secrets = context.settings, context.secrets
    if settings is None or secrets is None:
        return []
    if not settings.app_id:
        return [Finding(False, "no bot app id", "set VIGIL_APP_ID to the Azure Bot's app id")]

    tokens = bot_connector_tokens(settings, secrets)
    try:
        await asyncio.wait_for(tokens.token(), 30)
    except (TokenUnavailable, SecretUnavailable, TimeoutError) as exc:
        return [
            Finding(
                False,
                f"Bot Framework token not obtainable: {exc or 'timed out'}",
                "check VIGIL_APP_ID, the app password (or the managed identity) and "
                "VIGIL_LOGIN_URL",
            )
        ]
    return [Finding(True, f"Bot Framework token obtained from {settings.login_url}")]


async def check_openid_and_clock(context: Context) -> list[Finding]:
    settings, http = context.settings, context.http
    if settings is None or http is None:
        return []
    url = settings.openid_metadata_url
    try:
        async with http.get(url) as response:
            body = await response.json(content_type=None)
            date = response.headers.get("Date")
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return [
            Finding(
                False,
                f"OpenID metadata unreachable at {url}: {type(exc).__name__}",
                "allow outbound HTTPS to it, or fix VIGIL_OPENID_METADATA_URL",
            )
        ]
    findings = []
    if status != 200 or not isinstance(body, dict) or "jwks_uri" not in body:
        findings.append(
            Finding(
                False,
                f"OpenID metadata at {url} answered {status} without jwks_uri",
                "point VIGIL_OPENID_METADATA_URL at the channel's metadata document",
            )
        )
    else:
        findings.append(Finding(True, f"OpenID metadata reachable at {url}"))
    findings.append(_clock_finding(date))
    return findings


def _clock_finding(date: str | None) -> Finding:
    if not date:
        return Finding(
            False,
            "clock skew unknown: the metadata server sent no Date header",
            "check the clock against NTP by hand",
        )
    try:
        skew = time.time() - email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return Finding(
            False,
            f"clock skew unknown: unreadable Date {date[:40]!r}",
            "check the clock against NTP by hand",
        )
    if abs(skew) >= MAX_SKEW_SECONDS:
        return Finding(
            False,
            f"clock off by {skew:+.0f} s (tokens are refused past 5 minutes)",
            "synchronise the clock (NTP)",
        )
    return Finding(True, f"clock skew {skew:+.1f} s (under 5 minutes)")


async def check_audit_chain(context: Context) -> list[Finding]:
    if context.store is None or context.secrets is None:
        return []
    if not context.migrated:
        return [
            Finding(
                False,
                "audit chain not checked: the schema is not current",
                "run `vigil db migrate`, then `vigil doctor` again",
            )
        ]
    try:
        key = (await context.secrets.get(AUDIT_KEY_SECRET)).reveal().encode()
        result = await AuditLog(context.store, key).verify()
    except (SecretUnavailable, ValueError) as exc:
        return [
            Finding(
                False,
                f"audit chain not checked: {exc}",
                f"configure the secret '{AUDIT_KEY_SECRET}' (at least 16 bytes)",
            )
        ]
    if not result.intact:
        return [
            Finding(
                False,
                f"audit chain {result.summary()}",
                "treat as a security incident: the audit table was altered; "
                "compare with your anchored head hashes",
            )
        ]
    return [Finding(True, f"audit chain {result.summary()}")]


async def check_connectors(context: Context) -> list[Finding]:
    """One line per configured containment connector (MDE, SOAR webhook, RPZ file)."""
    from bot.containment.connector import ConnectorError
    from bot.containment.registry import build_connectors
    from bot.kernel.redaction import Redactor

    if context.settings is None or context.secrets is None or context.http is None:
        return []
    connectors = build_connectors(
        context.raw,
        context.settings,
        context.http,
        context.secrets,
        Redactor.from_config(context.raw),
    )
    findings = []
    for connector in connectors.all():
        try:
            line = await asyncio.wait_for(connector.check(), 60)
        except (ConnectorError, TimeoutError) as exc:
            findings.append(
                Finding(
                    False,
                    f"containment connector {connector.name}: {exc or 'timed out'}",
                    _CONNECTOR_FIXES[connector.name],
                )
            )
        else:
            findings.append(Finding(True, f"containment connector {line}"))
    return findings


_CONNECTOR_FIXES = {
    "mde": "check VIGIL_MDE_URL, VIGIL_AAD_AUTHORITY, the app credential and its "
    "WindowsDefenderATP application permissions (Machine.Read.All, Machine.Isolate, "
    "Ti.ReadWrite), or choose another connector in VIGIL_CONTAINMENT_ISOLATE_CONNECTOR / "
    "VIGIL_CONTAINMENT_BLOCK_CONNECTOR",
    "soar": "add the secret 'soar-webhook-hmac-key' (shared with the receiver) and check "
    "VIGIL_SOAR_WEBHOOK_URL",
    "rpz": "make the directory of VIGIL_RPZ_FILE writable for Vigil, and restore or remove "
    "a zone file Vigil did not write",
}
