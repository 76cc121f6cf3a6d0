"""The turn the one way in resolved (who is acting, where), handed to dialogs on the TurnContext.

The Teams handler sets it before a dialog begins or continues, after the pipeline checked the
dialog's role; dialogs act as the actor found here, never as one carried in their options.
"""

from __future__ import annotations

from botbuilder.core import TurnContext

from bot.kernel.inbound import Turn
from bot.kernel.rbac import Actor

TURN_KEY = "vigil.turn"


def set_turn(context: TurnContext, turn: Turn) -> None:
    context.turn_state[TURN_KEY] = turn


def actor_of(context: TurnContext) -> Actor:
    turn = context.turn_state.get(TURN_KEY)
    if not isinstance(turn, Turn):
        raise RuntimeError("a dialog ran without a turn from the one way in")
    return turn.actor
