"""`vigil serve`, `vigil dev`, `vigil chat` and `vigil config check`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import logging
import secrets
import signal
import sys
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.kernel.config import ConfigError, RawConfig, Setting, parse_int_range
from bot.kernel.rbac import Role, RoleMap
from bot.kernel.settings import PORT

if TYPE_CHECKING:
    from bot.devchannel.channel import LocalChannel

log = logging.getLogger(__name__)

LOCAL_CHANNEL_PORT = Setting(
    "local.channel_port", "VIGIL_LOCAL_CHANNEL_PORT", parse_int_range(0, 65535), 3979
)
LOCAL_CHANNEL_ENV = Path(".vigil") / "channel.env"
DEMO_USER = "demo"
STANDINS_NOTE = (
    "Graph and Defender stand-ins: incident channels go to team SOC; machines ws-fin-042,"
    " ws-hr-007, srv-db-01; approvers answer with `vigil chat --as approver --channel"
    " SOC/Approvals`"
)
# Four eyes: the demo admin cannot approve its own requests, so the local setup has an approver.
DEMO_APPROVER = "approver"


@dataclass(frozen=True)
class LocalUser:
    key: str
    name: str
    aad_object_id: str
    roles: tuple[Role, ...]


def local_users(raw: RawConfig) -> dict[str, LocalUser]:
    """Users `vigil chat --as` can be: `[local.users.KEY]` tables, the demo admin and approver."""
    from bot.devchannel.channel import ChannelUser

    users = {
        DEMO_USER: LocalUser(
            DEMO_USER, "Demo Admin", ChannelUser.named("Demo Admin").aad_object_id, (Role.ADMIN,)
        ),
        DEMO_APPROVER: LocalUser(
            DEMO_APPROVER,
            "Demo Approver",
            ChannelUser.named("Demo Approver").aad_object_id,
            (Role.APPROVER,),
        ),
    }
    for key, table in raw.table("local.users").items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"[local.users.{key}] must be a table")
        name = table.get("name", key)
        object_id = table.get("aad_object_id") or ChannelUser.named(str(name)).aad_object_id
        try:
            roles = tuple(Role(role) for role in table.get("roles", []))
        except ValueError as exc:
            raise ConfigError(f"[local.users.{key}] roles: {exc}") from None
        users[key] = LocalUser(key, str(name), str(object_id), roles)
    return users


def local_roles(raw: RawConfig, users: Mapping[str, LocalUser]) -> RoleMap:
    roles = RoleMap.load(raw)
    for user in users.values():
        for role in user.roles:
            roles = roles.with_grant(user.aad_object_id, role)
    return roles


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run the service on uvloop where it is installed: about a fifth less CPU per request."""
    try:
        import uvloop
    except ImportError:  # platforms without it (Windows) use the standard loop
        return asyncio.run(main) or 0
    return uvloop.run(main) or 0


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the bot (production entry)")
    serve.add_argument("--local", action="store_true", help="also run the local Teams channel")
    serve.set_defaults(func=lambda args: run_loop(run_serve(args, chat=False)))

    channel = subparsers.add_parser(
        "channel",
        help="run the local Teams channel and the Graph/Defender stand-ins for `vigil serve`s",
    )
    channel.add_argument(
        "--bot",
        action="append",
        metavar="URL",
        help="a `vigil serve` to deliver to; repeat for several instances on one database "
        "(default http://VIGIL_HOST:VIGIL_PORT)",
    )
    channel.add_argument(
        "--env-file",
        help=f"where to write the settings the bots need (default {LOCAL_CHANNEL_ENV})",
    )
    channel.set_defaults(func=lambda args: run_loop(run_channel(args)))

    dev = subparsers.add_parser("dev", help="bot + local channel + a terminal chat as demo admin")
    dev.set_defaults(func=lambda args: run_loop(run_serve(args, chat=True)))

    chat = subparsers.add_parser("chat", help="chat with a running `vigil serve --local`")
    chat.add_argument("--as", dest="user", default=DEMO_USER, help="a configured local user")
    chat.add_argument("--channel", help="TEAM/CHANNEL to talk in instead of a personal chat")
    chat.add_argument("--url", help="the local channel (default http://127.0.0.1:3979)")
    chat.set_defaults(func=run_chat_command)

    config = subparsers.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = config_sub.add_parser("check", help="print the effective configuration")
    check.set_defaults(func=config_check)


class PortBusy(Exception):
    """A port Vigil must listen on cannot be bound: one line naming the setting that moves it."""

    @classmethod
    def naming(cls, setting: Setting, host: str, port: int, exc: OSError) -> PortBusy:
        why = "it is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        return cls(f"cannot listen on {host}:{port}: {why}; set {setting.env} to a free port")


async def _refused_start(exc: ConfigError | PortBusy, channel: LocalChannel | None) -> int:
    """One line on stderr and exit 2; the local channel, if it started, is stopped."""
    what = "configuration error: " if isinstance(exc, ConfigError) else ""
    print(f"vigil: {what}{exc}", file=sys.stderr)
    if channel:
        await channel.stop()
    return 2


async def run_serve(args: argparse.Namespace, *, chat: bool) -> int:
    from bot.app import build_app, start_vigil
    from bot.kernel.logs import configure_logging

    local = chat or args.local
    raw = RawConfig.load(args.config)
    channel = None
    try:
        users = local_users(raw) if local else {}
        if local:
            channel = await _start_local_channel(raw, users, [_own_endpoint(raw)])
            raw = _with_env(raw, _local_env(raw, channel))
        vigil = await start_vigil(raw, roles=local_roles(raw, users) if local else None)
    except (ConfigError, PortBusy) as exc:
        return await _refused_start(exc, channel)
    # In `vigil dev` the terminal is the chat: only warnings go to stderr there.
    configure_logging("WARNING" if chat else vigil.settings.log_level, vigil.services.redactor)
    app = build_app(vigil)
    runner = web.AppRunner(app, shutdown_timeout=vigil.settings.shutdown_grace, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, vigil.settings.host, vigil.settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if channel:
            await channel.stop()
        print(
            f"vigil: {PortBusy.naming(PORT, vigil.settings.host, vigil.settings.port, exc)}",
            file=sys.stderr,
        )
        return 2
    log.info("listening on http://%s:%s", vigil.settings.host, vigil.settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if chat:
            from bot.devchannel.channel import ChannelConversation, ChannelUser
            from bot.devchannel.terminal_chat import run_chat

            demo = users[DEMO_USER]
            user = ChannelUser(demo.aad_object_id, demo.name)
            print(f"Vigil dev: chatting as {demo.name} (admin). Type help; Ctrl-D to leave.")
            print(STANDINS_NOTE)
            chat_task = asyncio.create_task(
                run_chat(channel.control_url, user, ChannelConversation.personal(user))
            )
            stop_task = asyncio.create_task(stop.wait())
            await asyncio.wait({chat_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            stop_task.cancel()
            chat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chat_task
        else:
            if channel:
                print(
                    f"local channel on {channel.control_url}; `vigil chat --as NAME` to talk\n"
                    f"{STANDINS_NOTE}",
                    flush=True,
                )
            await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()
        if channel:
            await channel.stop()
    return 0


async def _start_local_channel(
    raw: RawConfig, users: Mapping[str, LocalUser], endpoints: list[str]
) -> LocalChannel:
    """The local channel on VIGIL_LOCAL_CHANNEL_PORT, with the Graph and Defender stand-ins."""
    from bot.devchannel.channel import ChannelUser, LocalChannel
    from bot.devchannel.standins import LocalStandins

    members = [ChannelUser(user.aad_object_id, user.name) for user in users.values()]
    channel = LocalChannel(
        app_id=raw.environ.get("VIGIL_APP_ID") or "00000000-0000-4000-8000-00000000b07a",
        app_password=secrets.token_urlsafe(24),
        port=raw.get(LOCAL_CHANNEL_PORT),
        standins=LocalStandins(members),
    )
    channel.bot_endpoints = endpoints
    try:
        await channel.start()
    except OSError as exc:
        raise PortBusy.naming(LOCAL_CHANNEL_PORT, channel.host, channel.port, exc) from None
    return channel


def _own_endpoint(raw: RawConfig) -> str:
    from bot.kernel.settings import HOST, PORT

    return f"http://{raw.get(HOST)}:{raw.get(PORT)}"


def _local_env(raw: RawConfig, channel: LocalChannel) -> dict[str, str]:
    """What a bot behind the local channel needs: the channel's settings, the stand-ins' where
    the user has not chosen (environment or config file), and a local audit key."""
    from bot.config_report import all_settings

    by_env = {setting.env: setting for setting in all_settings()}
    standins = {
        env: value
        for env, value in channel.standin_env().items()
        if env not in by_env or raw.lookup(by_env[env])[1] == "default"
    }
    return {**channel.bot_env(), **standins, **_local_secrets(raw)}


def _with_env(raw: RawConfig, env: Mapping[str, str]) -> RawConfig:
    return dataclasses.replace(raw, environ={**raw.environ, **env})


async def run_channel(args: argparse.Namespace) -> int:
    """`vigil channel`: the local channel and stand-ins alone, for `vigil serve`s to share."""
    raw = RawConfig.load(args.config)
    channel = None
    env_file = Path(args.env_file or LOCAL_CHANNEL_ENV)
    try:
        users = local_users(raw)
        channel = await _start_local_channel(raw, users, args.bot or [_own_endpoint(raw)])
        _write_env_file(
            env_file, {**_local_env(raw, channel), **_role_env(local_roles(raw, users))}
        )
    except (ConfigError, PortBusy) as exc:
        return await _refused_start(exc, channel)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"local channel on {channel.base_url} for {', '.join(channel.bot_endpoints)}\n"
        f"{STANDINS_NOTE}\n"
        f"each `vigil serve` needs the settings in {env_file} (the app password too):\n"
        f"  set -a; . {env_file}; set +a; VIGIL_PORT=... vigil serve\n"
        "then `vigil chat --as NAME` to talk",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await channel.stop()
        _remove_env_file(env_file)
    return 0


def _role_env(roles: RoleMap) -> dict[str, str]:
    """VIGIL_ROLE_* granting the local users their roles in a `vigil serve` without --local."""
    from bot.kernel.rbac import ROLE_SETTINGS

    env = {}
    for role, setting in ROLE_SETTINGS.items():
        principals = sorted(p for p, granted in roles.by_principal.items() if role in granted)
        if principals:
            env[setting.env] = ",".join(principals)
    return env


def _remove_env_file(path: Path) -> None:
    # The password and CA it names die with this channel.
    path.unlink(missing_ok=True)


def _write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """KEY=value lines a shell can source, readable by the user only (it holds a password)."""
    import shlex

    from bot.kernel.output_file import write_output

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Renamed into place whole (0600): a `vigil serve` waiting for it never reads half of it.
    write_output(
        path, "".join(f"{key}={shlex.quote(value)}\n" for key, value in sorted(env.items()))
    )


def _local_secrets(raw: RawConfig) -> dict[str, str]:
    """Embedded defaults need an audit key: make one once, in .vigil/secrets beside the config
    file (or in the current folder), if none is set."""
    from bot.audit.trail import AUDIT_KEY_SECRET
    from bot.secrets.local import SECRETS_DIR, local_secrets_dir

    if raw.environ.get("VIGIL_SECRET_AUDIT_HMAC_KEY") or raw.get(SECRETS_DIR):
        return {}
    directory = local_secrets_dir(raw)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = directory / AUDIT_KEY_SECRET
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_hex(32))
    return {SECRETS_DIR.env: str(directory.resolve())}


async def run_chat_command(args: argparse.Namespace) -> int:
    from bot.devchannel.channel import ChannelConversation, ChannelUser
    from bot.devchannel.terminal_chat import run_chat

    raw = RawConfig.load(args.config)
    users = local_users(raw)
    if args.user not in users:
        print(
            f"vigil chat: no local user {args.user!r}; known: {', '.join(sorted(users))}",
            file=sys.stderr,
        )
        return 2
    known = users[args.user]
    user = ChannelUser(known.aad_object_id, known.name)
    if args.channel:
        team, _, channel_name = args.channel.partition("/")
        conversation = ChannelConversation.channel(team, channel_name or "General")
    else:
        conversation = ChannelConversation.personal(user)
    base = (args.url or f"http://127.0.0.1:{raw.get(LOCAL_CHANNEL_PORT)}").rstrip("/")
    url = base if base.endswith("/_local") else base + "/_local"
    return await run_chat(url, user, conversation)


def config_check(args: argparse.Namespace) -> int:
    from bot.config_report import effective_config

    try:
        raw = RawConfig.load(args.config)
        lines = effective_config(raw)
    except ConfigError as exc:
        print(f"✗ {exc}")
        return 1
    print("\n".join(lines))
    return 0 if not any(line.startswith("✗") for line in lines) else 1
