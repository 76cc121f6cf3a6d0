"""The aiohttp application: `/api/messages`, health, readiness and metrics.

Everything a running Vigil needs is built here at start-up and hung on the app; nothing is global.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from bot.alerts.outbox import depth as alert_outbox_depth
from bot.audit.trail import AUDIT_KEY_SECRET, AuditTrail
from bot.capabilities import CAPABILITIES
from bot.config_report import configuration_problems
from bot.entra.tokens import bot_connector_tokens
from bot.kernel.card_templates import install_from_config
from bot.kernel.commands import CommandRegistry, CommandSet
from bot.kernel.config import ConfigError, RawConfig, Setting, parse_bool
from bot.kernel.hooks import Hooks
from bot.kernel.rbac import RoleMap
from bot.kernel.redaction import Redactor
from bot.kernel.request_body import BodyRejected, parse_json, read_raw
from bot.kernel.services import Services
from bot.kernel.settings import ServiceSettings
from bot.secrets.source import check, secret_source_from_config
from bot.store import Store, open_configured_store
from bot.teams.endpoint import (
    AuthenticationFailed,
    BadActivity,
    TeamsEndpoint,
    build_teams_endpoint,
)

log = logging.getLogger(__name__)

# Secrets without which Vigil cannot do its core job; /readyz names the missing ones.
REQUIRED_SECRETS = (AUDIT_KEY_SECRET,)
# Enough for "no Entra token ... from managed identity <id>: <why>", short enough for a probe log.
REASON_LIMIT = 200
AUTO_MIGRATE = Setting(
    "db.auto_migrate",
    "VIGIL_DB_AUTO_MIGRATE",
    parse_bool,
    True,
    "apply schema migrations at start-up (else run `vigil db migrate`)",
)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "vigil_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "vigil_turn_seconds",
            "Time to process one Bot Framework activity",
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "vigil_auth_failures",
            "Requests refused for a missing or invalid token",
            registry=self.registry,
        )
        self.alert_dead_letters = Gauge(
            "vigil_alert_dead_letters",
            "Alert cards that failed for good (vigil alerts dead), read from the store",
            registry=self.registry,
        )
        self.alert_outbox_pending = Gauge(
            "vigil_alert_outbox_pending",
            "Alert cards waiting to be posted or updated, read from the store",
            registry=self.registry,
        )


@dataclass
class Vigil:
    """A running Vigil: its ports, its Teams endpoint and its background jobs."""

    settings: ServiceSettings
    services: Services
    teams: TeamsEndpoint
    metrics: Metrics
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    # Made at start-up (where they check their settings), run by build_app's cleanup context.
    jobs: list[Coroutine[Any, Any, None]] = field(default_factory=list)
    background: list[asyncio.Task] = field(default_factory=list)
    resources: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)


APP_KEY = web.AppKey("vigil", Vigil)


def command_sets() -> list[CommandSet]:
    return [commands for capability in CAPABILITIES for commands in capability.commands]


def background_jobs(services: Services) -> list[Coroutine[Any, Any, None]]:
    """Long-running work each instance does (delivery, expiry, schedules); cancelled at stop."""
    jobs: list[Coroutine[Any, Any, None]] = []
    try:
        for capability in CAPABILITIES:
            for make in capability.jobs:
                jobs.append(make(services))
    except BaseException:
        # Each maker checks its settings first; a refusal must not leave unawaited coroutines.
        for job in jobs:
            job.close()
        raise
    return jobs


def declared_hooks() -> Hooks:
    """How capabilities follow each other's events, as they declare it; the publisher imports
    none of its subscribers."""
    return Hooks(hook for capability in CAPABILITIES for hook in capability.hooks)


def ssl_context(ca_bundle: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(ca_bundle)
    return context


def build_services(
    raw: RawConfig,
    store: Store,
    http: aiohttp.ClientSession,
    registry: CommandRegistry,
    roles: RoleMap | None = None,
    hooks: Hooks | None = None,
) -> Services:
    """The ports handlers get: config, store, HTTP, secrets, redaction, the audit trail and the
    capabilities' event subscriptions (those they declare, unless `hooks` is given)."""
    settings = ServiceSettings.load(raw)
    install_from_config(raw)  # override card templates: checked here, refused with the reason
    known = [settings.app_password] if settings.app_password else []
    redactor = Redactor.from_config(raw, secrets=known)
    roles = roles or RoleMap.load(raw)
    # Last, so a refused setting above leaves no secret source (a Key Vault client) open.
    secrets = secret_source_from_config(raw, on_value=redactor.remember)
    return Services(
        raw_config=raw,
        settings=settings,
        store=store,
        roles=roles,
        registry=registry,
        http=http,
        secrets=secrets,
        redactor=redactor,
        audit=AuditTrail(store, secrets, redactor),
        hooks=declared_hooks() if hooks is None else hooks,
    )


async def start_vigil(
    raw: RawConfig,
    *,
    roles: RoleMap | None = None,
    store: Store | None = None,
) -> Vigil:
    """A Vigil ready to serve; a refused setting closes what start-up opened (not a given store).

    Its resources are owned by `vigil.resources` and released in reverse order by stop_vigil;
    its background jobs run only while an app built by build_app runs."""
    # Every declared setting, not only those start-up happens to read: a wrong value that is
    # parsed lazily (the Graph URL at the first create-incident) must stop start-up instead.
    problems = configuration_problems(raw)
    if problems:
        raise ConfigError("; ".join(problems))
    settings = ServiceSettings.load(raw)
    async with contextlib.AsyncExitStack() as resources:
        if store is None:
            # The server owns its database: it makes a new one where none is yet.
            store = await open_configured_store(raw, create=True)
            # An open store's thread would keep `vigil serve` from exiting.
            resources.push_async_callback(store.close)
        if raw.get(AUTO_MIGRATE):
            await store.migrate()
        http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context(settings.ca_bundle), limit=100),
            trust_env=False,
        )
        resources.push_async_callback(http.close)
        services = build_services(raw, store, http, CommandRegistry(command_sets()), roles)
        resources.push_async_callback(services.secrets.close)
        vigil = _assemble(settings, services)
        vigil.resources = resources.pop_all()
        return vigil
    raise AssertionError("unreachable")  # the exit stack re-raises what start-up raised


def _assemble(settings: ServiceSettings, services: Services) -> Vigil:
    """The Teams endpoint and background jobs over built ports; areas check settings here."""
    tokens = bot_connector_tokens(settings, services.secrets)
    teams = build_teams_endpoint(settings, services, tokens, CAPABILITIES)
    vigil = Vigil(settings, services, teams, Metrics())
    vigil.idle.set()
    # Made last, so nothing can fail between making these coroutines and owning them.
    vigil.jobs = background_jobs(services)
    return vigil


def start_jobs(vigil: Vigil) -> None:
    """Run the background jobs (once); build_app's cleanup context calls this at server start."""
    jobs, vigil.jobs = vigil.jobs, []
    vigil.background.extend(asyncio.create_task(job) for job in jobs)


async def stop_vigil(vigil: Vigil, grace: float) -> None:
    """Finish in-flight turns within `grace` seconds, stop the jobs, then release every port."""
    try:
        await asyncio.wait_for(vigil.idle.wait(), timeout=grace)
    except TimeoutError:
        log.warning("shutdown: %d turns still running after %.0fs", vigil.in_flight, grace)
    for job in vigil.jobs:
        job.close()  # made but never run: an app was never started
    vigil.jobs = []
    for task in vigil.background:
        task.cancel()
    await asyncio.gather(*vigil.background, return_exceptions=True)
    await vigil.resources.aclose()


def build_app(vigil: Vigil) -> web.Application:
    # The per-route limits below are what matter; this only bounds what aiohttp buffers.
    app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[_count_requests])
    app[APP_KEY] = vigil
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    for capability in CAPABILITIES:
        for route in capability.routes:
            app.router.add_route(route.method, route.path, route.handler(vigil.services))

    async def run(app: web.Application) -> AsyncIterator[None]:
        # The jobs run while the server runs; at stop, in-flight turns finish, then ports close.
        start_jobs(vigil)
        yield
        await stop_vigil(vigil, vigil.settings.shutdown_grace)

    app.cleanup_ctx.append(run)
    return app


def _vigil(request: web.Request) -> Vigil:
    return request.app[APP_KEY]


@web.middleware
async def _count_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    route = (
        request.match_info.route.resource.canonical
        if request.match_info.route.resource
        else "other"
    )
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _vigil(request).metrics.requests.labels(route, str(exc.status)).inc()
        raise
    _vigil(request).metrics.requests.labels(route, str(response.status)).inc()
    return response


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def read_json_body(request: web.Request, limit: int) -> Any:
    """The request's JSON body, or an HTTP error response (415, 413, 400) saying why."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": "Content-Type must be application/json"}),
            content_type="application/json",
        )
    try:
        return parse_json(await read_raw(request, limit))
    except BodyRejected as exc:
        kind = web.HTTPRequestEntityTooLarge if exc.status == 413 else web.HTTPBadRequest
        raise _http(kind, exc.reason, limit) from None


def _http(kind: type, reason: str, limit: int | None = None) -> web.HTTPException:
    payload = json.dumps({"error": reason})
    if kind is web.HTTPRequestEntityTooLarge:
        return kind(
            max_size=limit or 0, actual_size=None, text=payload, content_type="application/json"
        )
    return kind(text=payload, content_type="application/json")


async def messages(request: web.Request) -> web.Response:
    vigil = _vigil(request)
    body = await read_json_body(request, vigil.settings.max_body_bytes)
    if not isinstance(body, dict):
        return _problem(400, "body is not a Bot Framework activity")
    try:
        auth, activity = await vigil.teams.authenticate(
            body, request.headers.get("Authorization", "")
        )
    except BadActivity as exc:
        log.info("refused /api/messages: %s", exc)  # names a field, never its value
        return _problem(400, str(exc))
    except AuthenticationFailed as exc:
        vigil.metrics.auth_failures.inc()
        log.info("refused /api/messages: %s", exc)
        return _problem(401, "unauthorized")
    vigil.in_flight += 1
    vigil.idle.clear()
    started = time.perf_counter()
    try:
        invoke = await vigil.teams.process(auth, activity)
    finally:
        vigil.in_flight -= 1
        if vigil.in_flight == 0:
            vigil.idle.set()
        vigil.metrics.turn_seconds.observe(time.perf_counter() - started)
    if invoke is not None:
        status, payload = invoke
        return web.json_response(payload, status=status)
    return web.Response(status=200)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    vigil = _vigil(request)
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(vigil.services.store.ping(), timeout=3)
        pending = await vigil.services.store.pending_migrations()
        checks["store"] = "ok"
        checks["migrations"] = "ok" if not pending else f"pending: {', '.join(pending)}"
    except Exception as exc:
        checks["store"] = f"unreachable: {short_reason(exc, vigil.services.redactor)}"
    checks["config"] = "ok"
    for name, status in (await check(vigil.services.secrets, REQUIRED_SECRETS)).items():
        checks[f"secret {name}"] = status
    ready = all(value == "ok" for value in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def short_reason(exc: BaseException, redactor: Redactor) -> str:
    """The class and the first line of the message, redacted then cut (readiness is public)."""
    lines = str(exc).strip().splitlines()
    text = redactor.redact(lines[0])[:REASON_LIMIT].strip() if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def metrics(request: web.Request) -> web.Response:
    vigil = _vigil(request)
    await _read_alert_depth(vigil)
    payload = generate_latest(vigil.metrics.registry)
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _read_alert_depth(vigil: Vigil) -> None:
    # Read on scrape so every instance reports the shared outbox; a store outage keeps the last.
    try:
        pending, dead = await asyncio.wait_for(alert_outbox_depth(vigil.services.store), 3)
    except Exception as exc:
        log.warning("metrics: alert outbox depth unavailable: %s", type(exc).__name__)
        return
    vigil.metrics.alert_outbox_pending.set(pending)
    vigil.metrics.alert_dead_letters.set(dead)
