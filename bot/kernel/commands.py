"""The command framework: declared commands and card actions, argument parsing and role checks.

An area declares its commands in a module-level `CommandSet`:

    COMMANDS = CommandSet()

    @COMMANDS.command("check-ip", summary="Enrich an IP address", role=Role.ANALYST,
                      params=(Param("ip"),), options=(Option("--json"),))
    async def check_ip(call: Invocation) -> Reply: ...

    @COMMANDS.action("alert.ack", role=Role.ANALYST, mutating=True)
    async def ack(call: ActionCall) -> Reply: ...

The one way in (bot/kernel/pipeline.py) resolves, checks roles, parses, runs and audits;
handlers only do their own work. Nothing here knows Bot Framework types.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.kernel.errors import DomainError, Refused
from bot.kernel.rbac import Actor, Role

if TYPE_CHECKING:
    from bot.kernel.services import Services


class UsageError(DomainError):
    """The user's input does not fit the command; the message says what is wrong."""


@dataclass(frozen=True)
class Param:
    """A positional argument. `rest=True` takes every remaining word (at least one if required)."""

    name: str
    help: str = ""
    required: bool = True
    rest: bool = False


@dataclass(frozen=True)
class Option:
    """A `--flag` (boolean) or `--name VALUE` option."""

    flag: str
    help: str = ""
    takes_value: bool = False
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Conversation:
    """Where a message came from, as plain data."""

    id: str
    kind: str = "personal"  # personal | channel | groupChat | cli
    tenant_id: str = ""
    team_id: str = ""
    team_aad_group_id: str = ""
    channel_id: str = ""
    channel_name: str = ""


@dataclass
class Reply:
    """What a command answers: text and/or an Adaptive Card, or a dialog to start."""

    text: str | None = None
    card: dict[str, Any] | None = None
    # The text goes as plain text (user input in it never renders); True only for text Vigil
    # wrote in full, to keep its markdown (bot/kernel/messenger.py Message).
    markdown: bool = False
    dialog: str | None = None
    dialog_options: dict[str, Any] = field(default_factory=dict)
    # What the audit record names; defaults to the command and its first argument.
    audit_target: str | None = None
    audit_result: str = "ok"
    audit_detail: str = ""


def refused_reply(refusal: Refused) -> Reply:
    """A domain refusal as the answer: its text, audited as refused with its detail."""
    return Reply(
        text=str(refusal),
        audit_target=refusal.target,
        audit_result="refused",
        audit_detail=refusal.detail[:300],
    )


@dataclass
class Invocation:
    command: Command
    actor: Actor
    args: dict[str, Any]
    text: str
    conversation: Conversation
    services: Services
    correlation_id: str


@dataclass
class ActionCall:
    """An `Action.Execute` (or legacy `Action.Submit`) click on a card."""

    action: CardAction
    actor: Actor
    data: Mapping[str, Any]
    conversation: Conversation
    services: Services
    correlation_id: str
    activity_id: str = ""  # the card's message id, for updating it in place
    refresh: bool = False  # a `trigger: automatic` refresh only renders, never decides


Handler = Callable[[Invocation], Awaitable[Reply | None]]
ActionHandler = Callable[[ActionCall], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    summary: str
    role: Role | None  # None: anyone may run it, even with no role
    mutating: bool = False
    aliases: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    options: tuple[Option, ...] = ()
    examples: tuple[str, ...] = ()
    group: str = "general"

    @property
    def usage(self) -> str:
        parts = [self.name]
        for param in self.params:
            label = f"{param.name}..." if param.rest else param.name
            parts.append(f"<{label}>" if param.required else f"[{label}]")
        for option in self.options:
            value = f" <{option.key}>" if option.takes_value else ""
            parts.append(f"[{option.flag}{value}]")
        return " ".join(parts)

    def allowed(self, actor: Actor) -> bool:
        return self.role is None or actor.has(self.role)

    def parse(self, words: list[str]) -> dict[str, Any]:
        """Bind words to params and options; raise UsageError naming what is wrong."""
        args: dict[str, Any] = {
            option.key: (None if option.takes_value else False) for option in self.options
        }
        by_flag = {option.flag: option for option in self.options}
        positional: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            flag, _, inline = word.partition("=")
            if flag in by_flag:
                option = by_flag[flag]
                if not option.takes_value:
                    args[option.key] = True
                elif inline:
                    args[option.key] = inline
                elif index + 1 < len(words):
                    index += 1
                    args[option.key] = words[index]
                else:
                    raise UsageError(f"{option.flag} needs a value")
                if option.choices and args[option.key] not in option.choices:
                    raise UsageError(f"{option.flag} must be one of {', '.join(option.choices)}")
            elif word.startswith("--") and len(word) > 2:
                raise UsageError(f"unknown option {word}")
            else:
                positional.append(word)
            index += 1
        for param in self.params:
            if param.rest:
                args[param.name] = positional
                positional = []
                if param.required and not args[param.name]:
                    raise UsageError(f"missing {param.name}")
                continue
            if positional:
                args[param.name] = positional.pop(0)
            elif param.required:
                raise UsageError(f"missing {param.name}")
            else:
                args[param.name] = None
        if positional:
            raise UsageError(f"unexpected {_shortened(' '.join(positional))}")
        return args


@dataclass(frozen=True)
class CardAction:
    verb: str
    handler: ActionHandler
    role: Role | None
    mutating: bool = True


class CommandSet:
    """The commands and card actions one area declares."""

    def __init__(self, group: str = "general") -> None:
        self.group = group
        self.commands: list[Command] = []
        self.actions: list[CardAction] = []
        self.fallbacks: list[Command] = []

    def command(
        self,
        name: str,
        *,
        summary: str,
        role: Role | None,
        mutating: bool = False,
        aliases: Iterable[str] = (),
        params: Iterable[Param] = (),
        options: Iterable[Option] = (),
        examples: Iterable[str] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(
                Command(
                    name=name,
                    handler=handler,
                    summary=summary,
                    role=role,
                    mutating=mutating,
                    aliases=tuple(aliases),
                    params=tuple(params),
                    options=tuple(options),
                    examples=tuple(examples),
                    group=self.group,
                )
            )
            return handler

        return register

    def fallback(
        self, name: str, *, summary: str, role: Role | None
    ) -> Callable[[Handler], Handler]:
        """Text that starts with no known command (a pasted e-mail, say) is offered to fallbacks;
        a fallback answers a Reply, or None when the text is not for it."""

        def register(handler: Handler) -> Handler:
            self.fallbacks.append(Command(name, handler, summary, role, group=self.group))
            return handler

        return register

    def action(
        self, verb: str, *, role: Role | None, mutating: bool = True
    ) -> Callable[[ActionHandler], ActionHandler]:
        def register(handler: ActionHandler) -> ActionHandler:
            self.actions.append(CardAction(verb, handler, role, mutating))
            return handler

        return register


class CommandRegistry:
    """All commands and actions of a running Vigil, looked up by name, alias or verb."""

    def __init__(self, sets: Iterable[CommandSet]) -> None:
        self._commands: dict[str, Command] = {}
        self._names: dict[str, Command] = {}
        self._actions: dict[str, CardAction] = {}
        self.fallbacks: list[Command] = []
        for command_set in sets:
            self.fallbacks.extend(command_set.fallbacks)
            for command in command_set.commands:
                for name in (command.name, *command.aliases):
                    if name in self._names:
                        raise ValueError(f"command name {name!r} declared twice")
                    self._names[name] = command
                self._commands[command.name] = command
            for action in command_set.actions:
                if action.verb in self._actions:
                    raise ValueError(f"card action {action.verb!r} declared twice")
                self._actions[action.verb] = action

    def commands(self) -> list[Command]:
        return list(self._commands.values())

    def resolve(self, name: str) -> Command | None:
        return self._names.get(name.lower())

    def action(self, verb: str) -> CardAction | None:
        return self._actions.get(verb)

    def suggest(self, name: str, actor: Actor) -> list[str]:
        # No command name is close to a long word, and difflib reads the word in Python.
        if len(name) > MAX_NAME_CHARS:
            return []
        visible = [alias for alias, command in self._names.items() if command.allowed(actor)]
        return difflib.get_close_matches(name.lower(), visible, n=3, cutoff=0.6)

    def visible_to(self, actor: Actor) -> list[Command]:
        return [command for command in self._commands.values() if command.allowed(actor)]


MAX_NAME_CHARS = 64  # 2.4 times the longest name: difflib's cutoff 0.6 cannot be reached
MAX_SHOWN_CHARS = 200  # of the user's words quoted back in a usage error


def _shortened(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


# A command line longer than this is not one: Teams caps a message near 28 KB, and reading a
# longer text word by word (then parsing and auditing each word) would hold the event loop.
MAX_COMMAND_CHARS = 32_000

# POSIX shell words as shlex.split reads them (whitespace is " \t\r\n" only, no comments), one
# piece per match: shlex reads a character at a time in Python, 0.5 s for 250 KB; these
# possessive pieces read each character once, in C.
_PIECE = re.compile(
    r"(?P<space>[ \t\r\n]++)"
    r"|(?P<plain>[^ \t\r\n\\'\"]++)"
    r"|\\(?P<escaped>[\s\S])"
    r"|'(?P<single>[^']*+)'"
    r'|"(?P<double>(?:[^"\\]++|\\[\s\S])*+)"'
    r"|(?P<unclosed>[\\'\"])"
)
# Inside double quotes a backslash escapes only a double quote or a backslash.
_DOUBLE_ESCAPE = re.compile(r'\\([\\"])')
_TYPOGRAPHIC_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def split_words(text: str, max_chars: int = MAX_COMMAND_CHARS) -> list[str]:
    """Shell-like word splitting that tolerates typographic quotes pasted from Teams."""
    if len(text) > max_chars:
        raise UsageError(
            f"a command line is at most {max_chars:,} characters; paste long text without a "
            "command and I will look for indicators in it"
        )
    text = text.translate(_TYPOGRAPHIC_QUOTES)
    words: list[str] = []
    word: list[str] = []
    in_word = False
    for piece in _PIECE.finditer(text):
        kind = piece.lastgroup
        if kind == "space":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            continue
        if kind == "unclosed":
            raise UsageError(f"cannot read the command: {_unreadable(text, piece.group())}")
        value = piece.group(kind or 0)
        if kind == "double" and "\\" in value:
            value = _DOUBLE_ESCAPE.sub(r"\1", value)
        word.append(value)
        in_word = True
    if in_word:
        words.append("".join(word))
    return words


def _unreadable(text: str, opening: str) -> str:
    """shlex's words for a line it cannot read: a quote left open, or a backslash at the end
    (also inside an open double quote, where backslashes pair up)."""
    if opening == "'":
        return "No closing quotation"
    if opening == '"' and (len(text) - len(text.rstrip("\\"))) % 2 == 0:
        return "No closing quotation"
    return "No escaped character"
