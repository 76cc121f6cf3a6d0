"""Teams limits for bot cards, and a check that an expanded card respects them."""

from __future__ import annotations

import json
from typing import Any

# The 28 KB limit belongs to incoming webhooks and Workflows; bot messages may be larger, so this
# card budget is conservative and leaves room for the envelope and the text beside the card.
MAX_CARD_BYTES = 28 * 1024
# Teams refuses a bot message over about 100 KB (413 MessageSizeTooBig); Microsoft recommends
# staying under 80 KB. Vigil refuses to send one over this before Teams has to.
MAX_MESSAGE_BYTES = 100 * 1024
MAX_REFRESH_USERS = 60  # Teams refreshes a card automatically for at most 60 listed users
MAX_VERSION = (1, 5)  # the highest Adaptive Card schema version Teams renders everywhere


def serialized_size(card: Any) -> int:
    """Bytes of the card as the Bot Framework SDK sends it (json.dumps defaults)."""
    return len(json.dumps(card).encode("utf-8"))


def violations(card: Any) -> list[str]:
    """Every way the card breaks a Teams limit; empty when it is fine to send."""
    problems: list[str] = []
    size = serialized_size(card)
    if size > MAX_CARD_BYTES:
        problems.append(f"card is {size} bytes, over {MAX_CARD_BYTES}")
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return problems + ["not an AdaptiveCard object"]
    try:
        version = tuple(int(part) for part in str(card.get("version", "")).split("."))
    except ValueError:
        version = ()
    if not version or version > MAX_VERSION:
        problems.append(f"version {card.get('version')!r} is not 1.0 to 1.5")
    users = (card.get("refresh") or {}).get("userIds", [])
    if len(users) > MAX_REFRESH_USERS:
        problems.append(f"refresh.userIds has {len(users)} entries, over {MAX_REFRESH_USERS}")
    problems.extend(_link_problems(card))
    return problems


def _link_problems(node: Any) -> list[str]:
    problems: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("url", "iconUrl") and isinstance(value, str):
                if not value.lower().startswith("https://"):
                    problems.append(f"{key} {value[:60]!r} is not https")
            else:
                problems.extend(_link_problems(value))
    elif isinstance(node, list):
        for item in node:
            problems.extend(_link_problems(item))
    return problems
