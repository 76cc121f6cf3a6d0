"""A terminal chat with the bot through the local channel's control API (`vigil chat`).

Messages and cards are printed as text; card buttons get numbers, and typing a number presses
the button as Teams would (Action.Execute invoke, Action.Submit message, OpenUrl printed,
ShowCard shown). An updated card is printed again, marked "(updated)". Works with stdin as a
pipe too: each line is sent, and the bot's answers to it are printed before the next line.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from bot.devchannel.card_text import CardAction, CardInput, clean, markdown_to_text, render_card
from bot.devchannel.identity import ChannelConversation, ChannelUser

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
HISTORY_FILE = Path("~/.vigil_history")
HELP = "Type a message, a button number to press it, /help, or /quit."
POLL_WAIT = 20.0


class ChatError(Exception):
    """The control API could not be reached or refused a request."""


class TerminalChat:
    """One user in one conversation: sends lines, prints what the bot sends."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        control_url: str,
        user: ChannelUser,
        conversation: ChannelConversation,
        out: TextIO,
        read_line,
    ) -> None:
        self._session = session
        self._url = control_url.rstrip("/")
        self._user = user
        self._conversation = conversation
        self._out = out
        self._read_line = read_line
        self._cursor = 0
        self._lock = asyncio.Lock()
        self._next_button = 1
        self._buttons: dict[int, tuple[str, CardAction, list[CardInput]]] = {}

    def write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._session.request(method, self._url + path, **kwargs) as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    reason = body.get("error") if isinstance(body, dict) else None
                    raise ChatError(f"{response.status}: {clean(reason) or 'refused'}")
                return body
        except (aiohttp.ClientError, ValueError) as exc:
            raise ChatError(f"control API unreachable ({type(exc).__name__})") from None

    async def _send(self, **fields: Any) -> dict[str, Any]:
        body = {
            "user": self._user.to_dict(),
            "conversation": self._conversation.to_dict(),
            **fields,
        }
        return await self._request("POST", "/send", json=body)

    async def _events(self, wait: float) -> list[dict[str, Any]]:
        params = {"conversation": self._conversation.id, "after": str(self._cursor)}
        params["wait"] = str(wait)
        body = await self._request("GET", "/events", params=params)
        return body.get("events") or []

    async def skip_history(self) -> None:
        """Start from now: earlier messages of the conversation are not replayed."""
        body = await self._request(
            "GET", "/events", params={"conversation": self._conversation.id, "after": "0"}
        )
        self._cursor = int(body.get("last", 0))

    async def flush(self, wait: float = 0) -> None:
        """Print what the bot sent since the last flush."""
        events = await self._events(wait)
        async with self._lock:
            for event in events:
                if event["seq"] > self._cursor:
                    self._cursor = event["seq"]
                    await self._show_event(event)

    async def poll_forever(self) -> None:
        while True:
            try:
                await self.flush(POLL_WAIT)
            except ChatError as exc:
                self.write(f"! {exc}")
                await asyncio.sleep(2)  # the channel may be restarting: back off, then retry

    async def _show_event(self, event: dict[str, Any]) -> None:
        activity = event.get("activity") or {}
        kind = event.get("kind")
        if kind == "delete":
            self._forget(event.get("activity_id"))
            self.write("(a message was deleted)")
        elif activity.get("type") == "message":
            await self._show_activity(activity, updated=kind == "update")

    async def _show_activity(self, activity: dict[str, Any], *, updated: bool) -> None:
        activity_id = str(activity.get("id"))
        self._forget(activity_id)
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
                self._show_card(activity_id, card)
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

    def _show_card(self, activity_id: str, card: Any, parent_inputs=()) -> None:
        rendered = render_card(card)
        for line in rendered.lines:
            self.write("  | " + line)
        inputs = [*parent_inputs, *rendered.inputs]
        buttons = []
        for action in rendered.actions:
            number = self._next_button
            self._next_button += 1
            self._buttons[number] = (activity_id, action, inputs)
            buttons.append(f"[{number}] {action.title}")
        if buttons:
            self.write("  " + "  ".join(buttons))

    def _forget(self, activity_id: Any) -> None:
        for number in [n for n, b in self._buttons.items() if b[0] == activity_id]:
            del self._buttons[number]

    def _bot_name(self, activity: dict[str, Any]) -> str:
        sender = activity.get("from")
        name = sender.get("name") if isinstance(sender, dict) else None
        return clean(name) or "bot"

    async def handle(self, line: str) -> bool:
        """Act on one input line; False to end the chat."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if text == "/help":
            self.write(HELP)
            return True
        if text.isdigit() and int(text) in self._buttons:
            await self._press(int(text))
        else:
            await self._send(type="message", text=text, mention=self._conversation.is_group)
        await self.flush()
        return True

    async def _press(self, number: int) -> None:
        activity_id, action, inputs = self._buttons[number]
        if action.type == "Action.OpenUrl":
            self.write(f"open: {action.url}")
        elif action.type == "Action.ShowCard":
            self._show_card(activity_id, action.card, inputs)
        elif action.type == "Action.Execute":
            data = {**await self._input_values(inputs), **_as_dict(action.data)}
            answer = await self._send(
                type="action", verb=action.verb or "", data=data, reply_to_id=activity_id
            )
            await self._show_invoke_response(activity_id, answer.get("body"))
        elif action.type == "Action.Submit":
            await self._submit(activity_id, action, inputs)
        else:
            self.write(f"({action.type} is not available in the terminal)")

    async def _submit(self, activity_id: str, action: CardAction, inputs: list[CardInput]):
        data = action.data
        msteams = data.get("msteams") if isinstance(data, dict) else None
        if isinstance(msteams, dict) and msteams.get("type") == "imBack":
            await self._send(type="message", text=str(msteams.get("value", "")))
        elif isinstance(data, str):
            await self._send(type="message", text=data)
        else:
            values = {**await self._input_values(inputs), **_as_dict(data)}
            await self._send(type="submit", data=values, reply_to_id=activity_id)

    async def _input_values(self, inputs: list[CardInput]) -> dict[str, str]:
        values = {}
        for field in inputs:
            hint = f" [{field.default}]" if field.default else ""
            given = await self._read_line(f"  {field.label}{hint}: ")
            values[field.id] = (given or "").strip() or field.default
        return values

    async def _show_invoke_response(self, activity_id: str, response: Any) -> None:
        if not isinstance(response, dict):
            return
        kind, value = response.get("type"), response.get("value")
        if kind == CARD_TYPE:
            self._forget(activity_id)
            self.write("bot (updated for you):")
            self._show_card(activity_id, value)
        elif kind == "application/vnd.microsoft.activity.message":
            self.write("  " + markdown_to_text(value))
        elif kind == "application/vnd.microsoft.error":
            message = value.get("message") if isinstance(value, dict) else value
            self.write(f"! {markdown_to_text(message)}")


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _line_reader(stdin: TextIO, interactive: bool):
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
    timeout = aiohttp.ClientTimeout(total=POLL_WAIT + 60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        chat = TerminalChat(session, control_url, user, conversation, stdout, read_line)
        try:
            await chat.skip_history()
        except ChatError as exc:
            stdout.write(f"cannot reach the local channel at {control_url}: {exc}\n")
            return 1
        where = conversation.channel_name or conversation.name or "personal chat"
        chat.write(f"Chatting as {clean(user.name)} in {clean(where)}. {HELP}")
        poller = asyncio.create_task(chat.poll_forever())
        try:
            while (line := await read_line("> " if interactive else "")) is not None:
                if not interactive and line.strip():
                    chat.write(f"you> {clean(line)}")
                try:
                    if not await chat.handle(line):
                        break
                except ChatError as exc:
                    chat.write(f"! {exc}")
            await chat.flush()
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            _save_history(history)
    return 0
