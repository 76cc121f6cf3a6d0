"""What an adapter hands the one way in, as plain data, and the dialog operations it provides.

The Teams handler turns an activity into an `Inbound` and implements `DialogPort` over Bot
Framework dialogs; the pipeline (bot/kernel/pipeline.py) knows neither Teams nor Bot Framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.kernel.commands import Conversation
from bot.kernel.normalise import Mention
from bot.kernel.rbac import Actor, Role


@dataclass(frozen=True)
class Sender:
    """Who sent the activity, as the channel says; the pipeline resolves their roles."""

    aad_object_id: str
    name: str = ""
    tenant_id: str = ""


@dataclass(frozen=True)
class Click:
    """A card button: `Action.Execute`, or a legacy `Action.Submit` sent as a message value."""

    verb: str
    data: Mapping[str, Any] = field(default_factory=dict)
    activity_id: str = ""  # the card's message id, for updating it in place
    refresh: bool = False  # a `trigger: automatic` refresh only renders, never decides


@dataclass(frozen=True)
class Inbound:
    """One inbound activity: a message (raw text and its mentions) or a click."""

    sender: Sender
    conversation: Conversation
    correlation_id: str
    text: str = ""
    mentions: tuple[Mention, ...] = ()
    click: Click | None = None


Kind = Literal["command", "dialog", "action"]


@dataclass(frozen=True)
class Turn:
    """One activity as filters, handlers and dialogs see it, after normalising and resolving.

    `name` is the command's name, the dialog's id or the card verb ("" for an unknown command);
    `role` is what that needs (None: anyone)."""

    kind: Kind
    actor: Actor
    conversation: Conversation
    correlation_id: str
    name: str = ""
    role: Role | None = None
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    refresh: bool = False


@dataclass(frozen=True)
class ActiveDialog:
    """The dialog waiting for this user's answer and the role it was begun with.

    `declared` is False for a dialog whose role was not recorded (begun by an older Vigil)."""

    name: str
    role: Role | None
    declared: bool = True


class DialogPort(Protocol):
    """The dialog operations of one turn, provided by the adapter that runs dialogs."""

    async def active(self) -> ActiveDialog | None:
        """The dialog waiting for an answer here, if any."""
        ...

    async def begin(self, name: str, options: Mapping[str, Any], turn: Turn) -> bool:
        """Begin `name`, recording `turn.role` as the role every later turn needs; True when
        the dialog answered (asked its first question)."""
        ...

    async def continue_with(self, turn: Turn) -> None:
        """Hand the active dialog `turn.text`, the normalised answer."""
        ...

    async def cancel(self) -> None:
        """End the active dialog and forget its role."""
        ...
