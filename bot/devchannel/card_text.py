"""Adaptive Cards as readable terminal text, with the card's actions and inputs listed.

Card text comes from the bot, which may have bound untrusted text into it: every string is
stripped of terminal control sequences and bidi overrides before it is shown.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 24
MAX_LINES = 2000
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}
# A link starts at an unescaped "[", and neither part may run past where another could start
# (an unescaped "[", a "("): tried at every "[", a part that could read on was quadratic in a
# flood of "[", "\[" or "[a](".
_LINK = re.compile(r"(?<!\\)\[((?:[^\[\]\\\n]|\\.)*+)\]\(([^()\s]*+)\)")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~<])")
INPUT_TYPES = (
    "Input.Text",
    "Input.Number",
    "Input.Date",
    "Input.Time",
    "Input.Toggle",
    "Input.ChoiceSet",
)


def clean(value: Any) -> str:
    """Printable text: no escape sequences, other control characters or bidi overrides."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    out = []
    for ch in text.replace("\r\n", "\n").replace("\t", "    "):
        if ch == "\n":
            out.append(ch)
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def markdown_to_text(value: Any) -> str:
    """The Adaptive Card markdown subset as plain text: links as `text <url>`, no ** markers."""
    text = clean(value)
    text = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>" if m.group(1) else m.group(2), text)
    text = text.replace("**", "")
    return _ESCAPED.sub(r"\1", text)


@dataclass(frozen=True)
class CardAction:
    """A button: its type and what pressing it needs (verb and data, URL, or a sub-card)."""

    title: str
    type: str
    verb: str | None = None
    data: Any = None
    url: str | None = None
    card: dict[str, Any] | None = None
    # Action.ToggleVisibility: (element id, visibility it sets, None to toggle)
    targets: tuple[tuple[str, bool | None], ...] = ()


@dataclass(frozen=True)
class CardInput:
    """An input field the user fills in before an Execute or Submit action."""

    id: str
    type: str
    label: str
    default: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass
class RenderedCard:
    lines: list[str] = field(default_factory=list)
    actions: list[CardAction] = field(default_factory=list)
    inputs: list[CardInput] = field(default_factory=list)


def render_card(card: Any, width: int = 100) -> RenderedCard:
    """Render an Adaptive Card (a dict); anything malformed becomes a short placeholder."""
    result = RenderedCard()
    if not isinstance(card, dict):
        result.lines.append("[invalid card]")
        return result
    renderer = _Renderer(result, width)
    result.lines.extend(renderer.elements(card.get("body"), 0))
    renderer.actions(card.get("actions"))
    if len(result.lines) > MAX_LINES:
        result.lines[MAX_LINES:] = ["[card truncated]"]
    return result


def reveal(card: Any, targets: tuple[tuple[str, bool | None], ...], width: int = 100):
    """What an Action.ToggleVisibility shows: its target elements that it makes visible."""
    result = RenderedCard()
    wanted = dict(targets)
    renderer = _Renderer(result, width)
    for element in _elements_with_ids(card, set(wanted), 0):
        hidden = element.get("isVisible", True) is False
        shown = wanted[element["id"]]
        if hidden and shown is not False:  # a toggle shows what was hidden
            result.lines.extend(renderer.element(element, 1))
    if len(result.lines) > MAX_LINES:
        result.lines[MAX_LINES:] = ["[card truncated]"]
    return result


def _elements_with_ids(node: Any, ids: set[str], depth: int) -> list[dict[str, Any]]:
    """Elements anywhere in the card whose id is in `ids`; as deep as rendering goes."""
    if depth > 2 * MAX_DEPTH + 2:  # a dict and a list per level of nesting
        return []
    found = []
    if isinstance(node, dict):
        kind, element_id = node.get("type"), node.get("id")
        if (
            isinstance(element_id, str)
            and element_id in ids
            and isinstance(kind, str)
            and not kind.startswith("Action.")
        ):
            found.append(node)
        children = list(node.values())
    else:
        children = node if isinstance(node, list) else []
    for child in children:
        if isinstance(child, dict | list):
            found.extend(_elements_with_ids(child, ids, depth + 1))
    return found


class _Renderer:
    def __init__(self, result: RenderedCard, width: int) -> None:
        self._result = result
        self._width = max(20, width)

    def actions(self, actions: Any) -> None:
        for action in actions if isinstance(actions, list) else []:
            if isinstance(action, dict) and action.get("isEnabled", True) is not False:
                self._result.actions.append(_action(action))

    def elements(self, items: Any, depth: int) -> list[str]:
        lines: list[str] = []
        if depth > MAX_DEPTH:
            return ["[nested too deeply]"]
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("isVisible", True) is not False:
                lines.extend(self.element(item, depth + 1))
            if len(lines) > MAX_LINES:
                break
        return lines

    def element(self, item: dict[str, Any], depth: int) -> list[str]:
        kind = item.get("type")
        if kind == "TextBlock":
            return markdown_to_text(item.get("text")).split("\n")
        if kind == "RichTextBlock":
            return self.rich_text(item.get("inlines"))
        if kind == "FactSet":
            return self.fact_set(item.get("facts"))
        if kind in ("Container", "Column"):
            return self.elements(item.get("items"), depth)
        if kind == "ColumnSet":
            return self.column_set(item.get("columns"), depth)
        if kind == "Table":
            return self.table(item, depth)
        if kind == "Image":
            return [_image(item)]
        if kind == "ImageSet":
            images = item.get("images")
            return (
                [_image(i) for i in images if isinstance(i, dict)]
                if isinstance(images, list)
                else []
            )
        if kind == "ActionSet":
            self.actions(item.get("actions"))
            return []
        if kind in INPUT_TYPES:
            return [self.input(item)]
        if kind == "Media":
            return [f"[media: {clean(item.get('altText')) or 'video'}]"]
        fallback = item.get("fallback")
        if isinstance(fallback, dict):
            return self.element(fallback, depth + 1) if depth <= MAX_DEPTH else []
        if fallback == "drop":
            return []
        return [f"[unsupported element: {clean(kind)[:40]}]"]

    def rich_text(self, inlines: Any) -> list[str]:
        parts = []
        for inline in inlines if isinstance(inlines, list) else []:
            if isinstance(inline, str):
                parts.append(clean(inline))
            elif isinstance(inline, dict):
                parts.append(clean(inline.get("text")))
        return "".join(parts).split("\n")

    def fact_set(self, facts: Any) -> list[str]:
        pairs = [
            (markdown_to_text(f.get("title")), markdown_to_text(f.get("value")))
            for f in (facts if isinstance(facts, list) else [])
            if isinstance(f, dict)
        ]
        pad = min(max((len(t) for t, _ in pairs), default=0), self._width // 3)
        return [f"{title.ljust(pad)} : {value}" for title, value in pairs]

    def column_set(self, columns: Any, depth: int) -> list[str]:
        blocks = [
            self.elements(c.get("items"), depth)
            for c in (columns if isinstance(columns, list) else [])
            if isinstance(c, dict) and c.get("isVisible", True) is not False
        ]
        blocks = [b for b in blocks if b]
        if not blocks:
            return []
        widths = [max(len(line) for line in block) for block in blocks]
        if sum(widths) + 2 * (len(blocks) - 1) > self._width:
            return [line for block in blocks for line in block]  # too wide: stack them
        height = max(len(block) for block in blocks)
        lines = []
        for row in range(height):
            cells = [
                (block[row] if row < len(block) else "").ljust(width)
                for block, width in zip(blocks, widths, strict=True)
            ]
            lines.append("  ".join(cells).rstrip())
        return lines

    def table(self, item: dict[str, Any], depth: int) -> list[str]:
        rows = []
        for row in item.get("rows") if isinstance(item.get("rows"), list) else []:
            cells = row.get("cells") if isinstance(row, dict) else None
            if isinstance(cells, list):
                rows.append(
                    [
                        " ".join(self.elements(c.get("items"), depth))
                        if isinstance(c, dict)
                        else ""
                        for c in cells
                    ]
                )
        if not rows:
            return []
        count = max(len(r) for r in rows)
        rows = [r + [""] * (count - len(r)) for r in rows]
        widths = [max(len(r[i]) for r in rows) for i in range(count)]
        lines = [
            " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        if item.get("firstRowAsHeader", True) is not False and len(lines) > 1:
            lines.insert(1, "-+-".join("-" * w for w in widths))
        return lines

    def input(self, item: dict[str, Any]) -> str:
        field_id = clean(item.get("id")) or "input"
        label = clean(item.get("label") or item.get("title") or item.get("placeholder")) or field_id
        choices = tuple(
            (clean(c.get("title")), clean(c.get("value")))
            for c in (item.get("choices") if isinstance(item.get("choices"), list) else [])
            if isinstance(c, dict)
        )
        default = clean(item.get("value"))
        self._result.inputs.append(
            CardInput(field_id, str(item.get("type")), label, default, choices)
        )
        shown = f"[{label}]"
        if choices:
            shown += " (" + ", ".join(f"{v}={t}" for t, v in choices) + ")"
        return shown + (f" = {default}" if default else "")


def _image(item: dict[str, Any]) -> str:
    alt = clean(item.get("altText"))
    return f"[image: {alt}]" if alt else "[image]"


def _action(action: dict[str, Any]) -> CardAction:
    kind = clean(action.get("type")) or "Action.Unknown"
    title = clean(action.get("title")) or kind.removeprefix("Action.")
    card = action.get("card") if isinstance(action.get("card"), dict) else None
    url = clean(action.get("url")) if kind == "Action.OpenUrl" else None
    verb = action.get("verb") if isinstance(action.get("verb"), str) else None
    targets = action.get("targetElements") if kind == "Action.ToggleVisibility" else None
    found = (_target(t) for t in (targets if isinstance(targets, list) else []))
    return CardAction(
        title, kind, verb, action.get("data"), url, card, tuple(t for t in found if t)
    )


def _target(item: Any) -> tuple[str, bool | None] | None:
    """A targetElements entry: an id, or {"elementId", "isVisible"?}."""
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and isinstance(item.get("elementId"), str):
        shown = item.get("isVisible")
        return item["elementId"], shown if isinstance(shown, bool) else None
    return None
