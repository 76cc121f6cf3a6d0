"""The turn the one way in resolved (who is acting, where), handed to dialogs on the TurnContext.

The Teams handler sets it before a dialog begins or continues, after the pipeline checked the
dialog's role; dialogs act as the actor found here, never as one carried in their options.
"""

from __future__ import annotations

from botbuilder.core import TurnContext

from bot.kernel.commands import Conversation
from bot.kernel.inbound import Turn
from bot.kernel.rbac import Actor

TURN_KEY = "vigil.turn"


def set_turn(context: TurnContext, turn: Turn) -> None:
    context.turn_state[TURN_KEY] = turn


def turn_of(context: TurnContext) -> Turn:
    turn = context.turn_state.get(TURN_KEY)
    if not isinstance(turn, Turn):
        raise RuntimeError("a dialog ran without a turn from the one way in")
    return turn


def actor_of(context: TurnContext) -> Actor:
    return turn_of(context).actor


def conversation_of(context: TurnContext) -> Conversation:
    """Where the turn came from, as the one way in read it from the activity."""
    return turn_of(context).conversation
