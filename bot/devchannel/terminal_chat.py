"""A terminal chat with the bot through the local channel's control API (`vigil chat`).

Messages and cards are printed as text; card buttons get numbers, and typing a number presses
the button as Teams would (Action.Execute invoke, Action.Submit message, OpenUrl printed,
ShowCard shown, ToggleVisibility shows the hidden inputs and buttons it reveals). An updated card
is printed again, marked "(updated)"; a number from a card that has changed since shows the card
again instead of pressing anything. A paste (bracketed paste mode) or a block between lines of
three double quotes is one message. When the local channel restarts, the chat reconnects and
carries on. Works with stdin as a pipe too: each message is sent, and the bot's answers to it
are printed before the next one.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from bot.devchannel.card_text import (
    CardAction,
    CardInput,
    clean,
    markdown_to_text,
    render_card,
    reveal,
)
from bot.devchannel.identity import ChannelConversation, ChannelUser
from bot.devchannel.paste import PASTE_MODE_OFF, PASTE_MODE_ON, ReadLine, read_message

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
HISTORY_FILE = Path("~/.vigil_history")
HELP = "Type a message, a button number to press it, /help, or /quit."
MULTILINE_HELP = 'Paste freely; to type several lines, put them between two lines of """.'
POLL_WAIT = 20.0
RETRY_FIRST = 0.25  # seconds before the first reconnection attempt, doubled up to RETRY_MAX
RETRY_MAX = 5.0
MAX_RETIRED = 1000  # old button numbers remembered, to answer them with the card as it is now
CHANGED = "that card has changed, here it is again:"
GONE = "that card is no longer there (deleted, or the local channel restarted)"


class ChatError(Exception):
    """The control API could not be reached or refused a request."""


class NotFound(ChatError):
    """The control API does not know what was asked for (404)."""


@dataclass(frozen=True)
class CardPlace:
    """Where a card's buttons were shown: the activity, and its version at the time."""

    conversation_id: str
    activity_id: str
    version: int


@dataclass(frozen=True)
class Button:
    """A numbered button: the action, the card it is on, and the inputs it submits."""

    place: CardPlace
    action: CardAction
    card: Any
    inputs: tuple[CardInput, ...]
    given: tuple[tuple[str, str], ...] = ()  # values asked when a toggle revealed their inputs


class TerminalChat:
    """One user in one conversation: sends lines, prints what the bot sends."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        control_url: str,
        user: ChannelUser,
        conversation: ChannelConversation,
        out: TextIO,
        read_message: ReadLine,
        *,
        echo_inputs: bool = False,
    ) -> None:
        self._session = session
        self._url = control_url.rstrip("/")
        self._user = user
        self._conversation = conversation
        self._out = out
        self._read_message = read_message
        self._echo_inputs = echo_inputs
        self._cursor = 0
        self._instance: str | None = None  # which run of the local channel the cursor is for
        self._lost = False
        self._lock = asyncio.Lock()
        self._next_button = 1
        self._buttons: dict[int, Button] = {}
        self._retired: dict[int, CardPlace] = {}
        self._shown: dict[str, int] = {}  # activity id -> version last printed

    def write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._session.request(method, self._url + path, **kwargs) as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    reason = body.get("error") if isinstance(body, dict) else None
                    error = NotFound if response.status == 404 else ChatError
                    raise error(f"{response.status}: {clean(reason) or 'refused'}")
                if not isinstance(body, dict):
                    raise ValueError("not a JSON object")
                return body
        except (aiohttp.ClientError, ValueError, TimeoutError) as exc:
            raise ChatError(f"control API unreachable ({type(exc).__name__})") from None

    async def _send(self, **fields: Any) -> dict[str, Any]:
        body = {
            "user": self._user.to_dict(),
            "conversation": self._conversation.to_dict(),
            **fields,
        }
        return await self._request("POST", "/send", json=body)

    async def _poll(self, wait: float) -> tuple[str | None, dict[str, Any]]:
        """The events after the cursor, and the channel instance the cursor was for."""
        asked = self._instance
        params = {"conversation": self._conversation.id, "after": str(self._cursor)}
        params["wait"] = str(wait)
        if asked:
            params["instance"] = asked
        return asked, await self._request("GET", "/events", params=params)

    async def skip_history(self) -> None:
        """Start from now: earlier messages of the conversation are not replayed."""
        body = await self._request(
            "GET", "/events", params={"conversation": self._conversation.id, "after": "0"}
        )
        self._cursor = int(body.get("last", 0))
        self._instance = body.get("instance")

    async def flush(self, wait: float = 0) -> None:
        """Print what the bot sent since the last flush."""
        asked, body = await self._poll(wait)
        async with self._lock:
            if asked != self._instance:
                return  # a restart was handled while this poll waited: its cursor is stale
            restarted = body.get("instance") != self._instance
            if restarted:
                self._restarted(body.get("instance"))
                _, body = await self._poll(0)
            if self._lost or restarted:
                self._lost = False
                self.write("reconnected" + (" (the local channel restarted)" if restarted else ""))
            for event in body.get("events") or []:
                if event["seq"] > self._cursor:
                    self._cursor = event["seq"]
                    await self._show_event(event)

    def _restarted(self, instance: Any) -> None:
        """A new run of the channel: its sequence starts again and knows none of our cards."""
        self._instance = instance if isinstance(instance, str) else None
        self._cursor = 0
        for activity_id in {b.place.activity_id for b in self._buttons.values()}:
            self._retire(activity_id)
        self._shown.clear()

    async def poll_forever(self) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                await self.flush(0 if self._lost else POLL_WAIT)
                delay = RETRY_FIRST
            except ChatError as exc:
                if not self._lost:  # say it once, not at every attempt
                    self._lost = True
                    self.write(f"! lost the local channel ({exc}); reconnecting…")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _show_event(self, event: dict[str, Any]) -> None:
        activity = event.get("activity") or {}
        kind = event.get("kind")
        if kind == "delete":
            self._retire(str(event.get("activity_id")))
            self.write("(a message was deleted)")
        elif activity.get("type") == "message":
            if kind == "update" and self._shown.get(str(activity.get("id")), 0) >= event["seq"]:
                return  # already shown again when an old number was pressed
            conversation_id = str(event.get("conversation_id") or self._conversation.id)
            await self._show_activity(
                conversation_id, activity, event["seq"], updated=kind == "update"
            )

    async def _show_activity(
        self, conversation_id: str, activity: dict[str, Any], version: int, *, updated: bool
    ) -> None:
        activity_id = str(activity.get("id"))
        self._retire(activity_id)
        self._shown[activity_id] = version
        place = CardPlace(conversation_id, activity_id, version)
        self.write(f"{self._bot_name(activity)}{' (updated)' if updated else ''}:")
        if activity.get("text"):
            # As Teams shows it: plain text as it was sent, markdown rendered (links shown).
            plain = activity.get("textFormat") == "plain"
            text = clean(activity["text"]) if plain else markdown_to_text(activity["text"])
            for line in text.split("\n"):
                self.write("  " + line)
        for attachment in activity.get("attachments") or []:
            if not isinstance(attachment, dict):
                continue
            if attachment.get("contentType") == CARD_TYPE:
                card = await self._refreshed(activity_id, attachment.get("content"))
                self._show_card(place, card)
            else:
                self.write(f"  [attachment: {clean(attachment.get('contentType'))}]")

    async def _refreshed(self, activity_id: str, card: Any) -> Any:
        """As Teams does: a card whose refresh lists this user is fetched again (automatic)."""
        refresh = card.get("refresh") if isinstance(card, dict) else None
        action = refresh.get("action") if isinstance(refresh, dict) else None
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return card
        user_ids = refresh.get("userIds")
        if isinstance(user_ids, list) and self._user.mri not in user_ids:
            return card
        answer = await self._send(
            type="action",
            verb=str(action.get("verb", "")),
            data=action.get("data") if isinstance(action.get("data"), dict) else {},
            reply_to_id=activity_id,
            trigger="automatic",
        )
        response = answer.get("body") or {}
        if isinstance(response, dict) and response.get("type") == CARD_TYPE:
            return response.get("value")
        return card

    def _show_card(
        self, place: CardPlace, card: Any, parent_inputs=(), given: dict[str, str] | None = None
    ) -> None:
        rendered = render_card(card)
        for line in rendered.lines:
            self.write("  | " + line)
        inputs = (*parent_inputs, *rendered.inputs)
        self._offer(place, card, rendered.actions, inputs, given or {})

    def _offer(
        self,
        place: CardPlace,
        card: Any,
        actions: list[CardAction],
        inputs: tuple[CardInput, ...],
        given: dict[str, str],
    ) -> None:
        """Number the buttons and print them on one line."""
        shown = []
        for action in actions:
            number = self._next_button
            self._next_button += 1
            self._buttons[number] = Button(place, action, card, inputs, tuple(given.items()))
            shown.append(f"[{number}] {action.title}")
        if shown:
            self.write("  " + "  ".join(shown))

    def _retire(self, activity_id: str) -> None:
        """The activity's buttons are old now; their numbers still find the activity."""
        for number in [n for n, b in self._buttons.items() if b.place.activity_id == activity_id]:
            self._retired[number] = self._buttons.pop(number).place
        while len(self._retired) > MAX_RETIRED:
            del self._retired[next(iter(self._retired))]

    def _bot_name(self, activity: dict[str, Any]) -> str:
        sender = activity.get("from")
        name = sender.get("name") if isinstance(sender, dict) else None
        return clean(name) or "bot"

    async def handle(self, line: str) -> bool:
        """Act on one input message; False to end the chat."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if text == "/help":
            self.write(f"{HELP} {MULTILINE_HELP}")
            return True
        is_number = text.isascii() and text.isdigit()
        if not (is_number and await self._press_number(int(text))):
            await self._send(type="message", text=text, mention=self._conversation.is_group)
        await self.flush()
        return True

    async def _press_number(self, number: int) -> bool:
        """Press a button shown under this number; False if no button ever had it."""
        button = self._buttons.get(number)
        place = button.place if button else self._retired.get(number)
        if place is None and number < self._next_button:
            self.write(f"button {number} is too old: its card is no longer remembered")
            return True
        if place is None:
            return False
        async with self._lock:  # what is printed here is not interleaved with the poller's
            current = await self._current(place)
            if current is None:
                self._retire(place.activity_id)
                self.write(GONE)
                return True
            if button is None or current[0] != place.version:
                # A button of an older version would act on what the user no longer sees.
                self.write(CHANGED)
                await self._show_activity(
                    place.conversation_id, current[1], current[0], updated=False
                )
                return True
        await self._press(button)
        return True

    async def _current(self, place: CardPlace) -> tuple[int, dict[str, Any]] | None:
        """The activity's current version and content, as the channel has it; None if gone."""
        params = {"conversation": place.conversation_id, "id": place.activity_id}
        try:
            body = await self._request("GET", "/activity", params=params)
        except NotFound:
            return None
        version, activity = body.get("version"), body.get("activity")
        if not isinstance(version, int) or not isinstance(activity, dict):
            return None
        return version, activity

    async def _press(self, button: Button) -> None:
        action, place = button.action, button.place
        if action.type == "Action.OpenUrl":
            self.write(f"open: {action.url}")
        elif action.type == "Action.ShowCard":
            self._show_card(place, action.card, button.inputs, dict(button.given))
        elif action.type == "Action.ToggleVisibility":
            await self._toggle(button)
        elif action.type == "Action.Execute":
            data = {**await self._input_values(button), **_as_dict(action.data)}
            answer = await self._send(
                type="action", verb=action.verb or "", data=data, reply_to_id=place.activity_id
            )
            async with self._lock:
                place = await self._after_invoke(place)
                self._show_invoke_response(place, answer.get("body"))
        elif action.type == "Action.Submit":
            await self._submit(button)
        else:
            self.write(f"({action.type} is not available in the terminal)")

    async def _after_invoke(self, place: CardPlace) -> CardPlace:
        """Where the invoke's answer card stands: the bot may have updated the card meanwhile,
        and the answer shows this user that newer version."""
        current = await self._current(place)
        if current is None or current[0] <= place.version:
            return place
        self._shown[place.activity_id] = max(current[0], self._shown.get(place.activity_id, 0))
        return CardPlace(place.conversation_id, place.activity_id, current[0])

    async def _toggle(self, button: Button) -> None:
        """Show what the toggle reveals, ask for its inputs, and offer its buttons."""
        revealed = reveal(button.card, button.action.targets)
        if not revealed.lines and not revealed.actions:
            self.write("  (nothing more to show)")
            return
        for line in revealed.lines:
            self.write("  | " + line)
        given = dict(button.given)
        given.update(await self._ask(revealed.inputs, given))
        inputs = (*button.inputs, *revealed.inputs)
        self._offer(button.place, button.card, revealed.actions, inputs, given)

    async def _submit(self, button: Button) -> None:
        data, activity_id = button.action.data, button.place.activity_id
        msteams = data.get("msteams") if isinstance(data, dict) else None
        if isinstance(msteams, dict) and msteams.get("type") == "imBack":
            await self._send(type="message", text=str(msteams.get("value", "")))
        elif isinstance(data, str):
            await self._send(type="message", text=data)
        else:
            values = {**await self._input_values(button), **_as_dict(data)}
            await self._send(type="submit", data=values, reply_to_id=activity_id)

    async def _input_values(self, button: Button) -> dict[str, str]:
        given = dict(button.given)
        return {**given, **await self._ask(button.inputs, given)}

    async def _ask(self, inputs, given: dict[str, str]) -> dict[str, str]:
        """Ask for each input not already given; a paste or a \"\"\" block is one value."""
        values = {}
        for field in inputs:
            if field.id in given:
                continue
            hint = f" [{field.default}]" if field.default else ""
            prompt = f"  {field.label}{hint}: "
            answer = await self._read_message(prompt)
            values[field.id] = (answer or "").strip() or field.default
            if self._echo_inputs:
                self.write(prompt + clean(values[field.id]).replace("\n", "\n    "))
        return values

    def _show_invoke_response(self, place: CardPlace, response: Any) -> None:
        if not isinstance(response, dict):
            return
        kind, value = response.get("type"), response.get("value")
        if kind == CARD_TYPE:
            self._retire(place.activity_id)
            self.write("bot (updated for you):")
            self._show_card(place, value)
        elif kind == "application/vnd.microsoft.activity.message":
            self.write("  " + markdown_to_text(value))
        elif kind == "application/vnd.microsoft.error":
            message = value.get("message") if isinstance(value, dict) else value
            self.write(f"! {markdown_to_text(message)}")


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _line_reader(stdin: TextIO, interactive: bool) -> ReadLine:
    async def read(prompt: str) -> str | None:
        if interactive:
            try:
                return await asyncio.to_thread(input, prompt)
            except EOFError:
                return None
        line = await asyncio.to_thread(stdin.readline)
        return line.rstrip("\n") if line else None

    return read


def _load_history() -> Path | None:
    try:
        import readline
    except ImportError:
        return None
    path = HISTORY_FILE.expanduser()
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    return path


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    try:
        readline.write_history_file(path)
    except OSError:
        pass


async def run_chat(
    control_url: str,
    user: ChannelUser,
    conversation: ChannelConversation,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Chat until /quit or end of input; 0 on a normal end, 1 if the channel is unreachable."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin is sys.stdin and stdin.isatty()
    history = _load_history() if interactive else None
    read_line = _line_reader(stdin, interactive)
    more = "... " if interactive else ""

    async def next_message(prompt: str) -> str | None:
        return await read_message(read_line, prompt, more)

    # A terminal in bracketed paste mode marks pastes, so a pasted e-mail stays one message.
    paste_mode = interactive and stdout.isatty()
    timeout = aiohttp.ClientTimeout(total=POLL_WAIT + 60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        chat = TerminalChat(
            session,
            control_url,
            user,
            conversation,
            stdout,
            next_message,
            echo_inputs=not interactive,
        )
        try:
            await chat.skip_history()
        except ChatError as exc:
            stdout.write(f"cannot reach the local channel at {control_url}: {exc}\n")
            return 1
        where = conversation.channel_name or conversation.name or "personal chat"
        chat.write(f"Chatting as {clean(user.name)} in {clean(where)}. {HELP}")
        if paste_mode:
            stdout.write(PASTE_MODE_ON)
            stdout.flush()
        poller = asyncio.create_task(chat.poll_forever())
        try:
            while (text := await next_message("> " if interactive else "")) is not None:
                if not interactive and text.strip():
                    chat.write("you> " + clean(text.strip("\n")).replace("\n", "\n     "))
                try:
                    if not await chat.handle(text):
                        break
                except ChatError as exc:
                    chat.write(f"! {exc}")
            await chat.flush()
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            if paste_mode:
                stdout.write(PASTE_MODE_OFF)
                stdout.flush()
            _save_history(history)
    return 0
