"""Multi-line messages in the terminal chat: a bracketed paste, or a block between `\"\"\"` lines.

A terminal in bracketed paste mode (turned on with ESC[?2004h) wraps what is pasted in ESC[200~
and ESC[201~. GNU readline takes the whole paste as one line with newlines in it; without
readline the terminal hands it over line by line, the first line starting with the opening
marker and the last one holding the closing marker. Either way the paste is one message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

PASTE_MODE_ON = "\x1b[?2004h"
PASTE_MODE_OFF = "\x1b[?2004l"
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
FENCE = '"""'

ReadLine = Callable[[str], Awaitable[str | None]]


async def read_message(read_line: ReadLine, prompt: str, more: str = "") -> str | None:
    """One message: a line, a whole paste, or a fenced block; None at the end of input.

    `more` is the prompt for the lines of a fenced block.
    """
    line = await read_line(prompt)
    if line is None:
        return None
    if PASTE_START in line:
        return await _rest_of_paste(read_line, line)
    if line.strip() == FENCE:
        return await _fenced_block(read_line, more)
    return line


async def _rest_of_paste(read_line: ReadLine, first: str) -> str:
    lines = [first]
    while PASTE_END not in lines[-1]:
        line = await read_line("")
        if line is None:  # input ended inside the paste: send what came
            break
        lines.append(line)
    return "\n".join(lines).replace(PASTE_START, "").replace(PASTE_END, "")


async def _fenced_block(read_line: ReadLine, more: str) -> str:
    lines: list[str] = []
    while (line := await read_line(more)) is not None and line.strip() != FENCE:
        lines.append(line)
    return "\n".join(lines)
