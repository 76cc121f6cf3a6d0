"""Hostile text: what each scan of user text costs on its worst shapes, and /healthz meanwhile.

1. Every scanner of user text (extraction, mention stripping, command words, markdown escaping,
   cleaning, both redactions, the devchannel's card text) on hostile shapes at 1, 64 and 250 KB:
   the worst shapes' milliseconds, and the ratio to a normal message (a pasted phishing report,
   repeated to the same size) measured in the same run. Scanners run as shipped: extraction
   reads 32,000 characters (in a worker thread), a command line is at most 32,000 characters;
   "unbounded" rows lift those bounds to show the scan itself is linear.
2. `vigil serve` (a subprocess, real JWTs through the local channel, as bench/messages.py runs
   it): /healthz polled every 5 ms while 250 KB hostile messages are handled one after another;
   p50/p99/max against the same poll while the bot is idle. Target: p99 under 100 ms.

A figure, never a pass/fail. Run: python bench/hostile.py [--sizes 1,64,250] [--top 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.devchannel.card_text import markdown_to_text  # noqa: E402
from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel  # noqa: E402
from bot.intel.indicators import InvalidIndicator, classify, extract, refang  # noqa: E402
from bot.kernel.commands import UsageError, split_words  # noqa: E402
from bot.kernel.normalise import Mention, normalise_text  # noqa: E402
from bot.kernel.redaction import Redactor  # noqa: E402
from bot.summaries import redaction as summary_redaction  # noqa: E402
from bot.summaries.settings import RolePolicy  # noqa: E402
from cards.plaintext import clean, display, escape_markdown  # noqa: E402

# bench/messages.py's way of starting `vigil serve` (bench/ itself is not importable: its
# cards.py would shadow the cards package).
_spec = importlib.util.spec_from_file_location("bench_messages", ROOT / "bench" / "messages.py")
messages = importlib.util.module_from_spec(_spec)
sys.modules["bench_messages"] = messages
_spec.loader.exec_module(messages)

NORMAL = (
    "Hi team, got this from helpdesk at phish[.]example[.]net: 'reset your password at "
    "hxxps://login-portal[.]example[.]net/reset?u=ann' and a relay at 10.1.2.3, attachment "
    "invoice.pdf (d41d8cd98f00b204e9800998ecf8427e). Reply-To: ceo.office@evil-mail.example\n"
)
PATTERNS = {
    "x": "x", "A1": "A1", ".": ".", "@": "@", "[": "[", "(": "(", ")": ")", "<at>": "<at>",
    "</at>": "</at>", "<": "<", "a.": "a.", "x@": "x@", "1.": "1.", "a:": "a:", "a-": "a-",
    "[.]": "[.]", "(.)": "(.)", "[at]": "[at]", "hxxp": "hxxp", "::": "::", "\\": "\\",
    '"': '"', "'": "'", "*": "*", "_": "_", "`": "`", "#": "#", "\\n": "\n", "\\[": "\\[",
    "[a](": "[a](", "ab1+": "ab1+", "%": "%", "=": "=", "a ": "a ", "a=b ": "a=b ",
    "1.2.3.4 ": "1.2.3.4 ", "::1 ": "::1 ", "x@y.zz ": "x@y.zz ", "ü.de ": "ü.de ",
    "http://a.b/)": "http://a.b/)", "+1 (": "+1 (", "Bearer x": "Bearer x",
}  # fmt: skip
PREFIXED = {  # a head that opens an alternative, then a run that keeps it open
    "http://a.example/ + )": ("http://a.example/", ")"),
    "x@ + a.": ("x@", "a."),
    "[ + a": ("[", "a"),
    "<at> + x": ("<at>", "x"),
    '" + a': ('"', "a"),
    "-----BEGIN + A": ("-----BEGIN ", "A"),
}


def _distinct(make: Callable[[int], str]) -> Callable[[int], str]:
    def build(size: int) -> str:
        parts, total, i = [], 0, 0
        while total < size:
            parts.append(make(i))
            total += len(parts[-1])
            i += 1
        return "".join(parts)[:size]

    return build


DISTINCT = {
    "distinct ::N ": _distinct(lambda i: f"::{i:x} "),
    "distinct üN.de ": _distinct(lambda i: f"ü{i}.de "),
    "distinct aN.co ": _distinct(lambda i: f"a{i}.co "),
}


def shapes() -> dict[str, Callable[[int], str]]:
    def repeated(head: str, unit: str) -> Callable[[int], str]:
        return lambda size: (head + unit * (size // len(unit) + 1))[:size]

    built = {name: repeated("", unit) for name, unit in PATTERNS.items()}
    built |= {name: repeated(head, unit) for name, (head, unit) in PREFIXED.items()}
    return built | DISTINCT


def _quiet(scan: Callable[[str], object]) -> Callable[[str], object]:
    def run(text: str) -> object:
        try:
            return scan(text)
        except (UsageError, InvalidIndicator):
            return None

    return run


def scanners() -> dict[str, Callable[[str], object]]:
    redactor = Redactor(pii=("email", "phone"))
    policy = RolePolicy(roles=(("ws-*", "a workstation"),))
    found = {
        "indicators.extract (32,000)": extract,
        "indicators.extract unbounded": lambda t: extract(t, max_chars=len(t)),
        "indicators.refang": refang,
        "indicators.classify": _quiet(classify),
        "normalise.mentions": lambda t: normalise_text(t, [Mention("<at>x</at>", is_bot=True)]),
        "commands.split_words (32,000)": _quiet(split_words),
        "commands.split_words unbounded": _quiet(lambda t: split_words(t, max_chars=len(t))),
        "plaintext.escape_markdown": escape_markdown,
        "plaintext.display (card field)": lambda t: display(t, 2000),
        "plaintext.clean": lambda t: clean(t, len(t)),
        "summaries.redaction scanner": lambda t: list(summary_redaction._SCANNER.finditer(t)),
        "kernel.redaction (pii on)": redactor.redact,
        "devchannel.card_text": markdown_to_text,
        "summaries.redact (4,000)": lambda t: summary_redaction.redact(t, policy),
    }
    return found


def cost_ms(scan: Callable[[str], object], text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        scan(text)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def scan_table(sizes: list[int], top: int) -> None:
    print(f"1. worst shapes per scanner, ms (best of 3) at {', '.join(f'{s} KB' for s in sizes)}")
    print("   and the ratio to a normal message of the same size\n")
    all_shapes = shapes()
    for name, scan in scanners().items():
        normal = [
            cost_ms(scan, (NORMAL * (s * 1024 // len(NORMAL) + 1))[: s * 1024], 3) for s in sizes
        ]
        rows = []
        for shape, build in all_shapes.items():
            rows.append((shape, [cost_ms(scan, build(s * 1024), 3) for s in sizes]))
        rows.sort(key=lambda row: row[1][-1], reverse=True)
        figures = "  ".join(f"{ms:8.2f}" for ms in normal)
        print(f"{name:34s} normal            {figures}")
        for shape, costs in rows[:top]:
            figures = "  ".join(
                f"{ms:8.2f} ({ms / max(base, 1e-6):4.1f}x)"
                for ms, base in zip(costs, normal, strict=True)
            )
            print(f"{'':34s} {shape[:17]:17s} {figures}")
    print()


HOSTILE_MESSAGES = {
    '"x" * 250 KB': "x" * 250_000,
    '"A1" * 250 KB': "A1" * 125_000,
    '"<at>" * 250 KB': "<at>" * 62_500,
    '"." * 250 KB': "." * 250_000,
    '"x@" + "a." * 250 KB': "x@" + "a." * 124_999,
    "distinct ::N, 250 KB": DISTINCT["distinct ::N "](250_000),
    "distinct üN.de, 200 KB": DISTINCT["distinct üN.de "](150_000),  # JSON sends ü as \\u00fc
    '"check " + IPs, 250 KB': "check " + "198.51.100.23 " * 17_000,
    '"ping " + "[a](" * 250 KB': "ping " + "[a](" * 62_000,
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def poll(http: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> list[float]:
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        async with http.get(url) as response:
            await response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.005)
    return latencies


async def healthz_during(seconds_idle: float) -> None:
    print("2. /healthz while one 250 KB hostile message is handled (vigil serve, real JWTs)\n")
    channel = LocalChannel(app_id=messages.APP_ID, app_password=messages.APP_PASSWORD)
    await channel.start()
    port = messages.free_port()
    user = ChannelUser.named("Bench User 0")
    conversation = ChannelConversation.personal(user)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **channel.bot_env(), "REQUESTS_CA_BUNDLE": channel.ca_file}
        env = messages._vigil_env(env, f"sqlite:///{tmp}/bench.db", port, 1)
        env["PYTHONPATH"] = str(ROOT)
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT)
        try:
            await messages.wait_listening(port, process)
            channel.bot_endpoint = f"http://127.0.0.1:{port}"
            await channel.send_message(user, conversation, "ping")  # tokens, metadata
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{port}/healthz"
                stop = asyncio.Event()
                idle = asyncio.create_task(poll(http, url, stop))
                await asyncio.sleep(seconds_idle)
                stop.set()
                base = await idle
                print(
                    f"{'idle':30s} p50 {pct(base, 0.5):6.1f} ms  p99 {pct(base, 0.99):6.1f} ms  "
                    f"max {max(base):6.1f} ms  ({len(base)} polls)"
                )
                for name, text in HOSTILE_MESSAGES.items():
                    stop = asyncio.Event()
                    during = asyncio.create_task(poll(http, url, stop))
                    await asyncio.sleep(0.05)
                    since = channel.last_seq
                    started = time.perf_counter()
                    status = await channel.send_message(user, conversation, text)
                    handled = (time.perf_counter() - started) * 1000
                    stop.set()
                    seen = await during
                    p99 = pct(seen, 0.99)
                    print(
                        f"{name:30s} p50 {pct(seen, 0.5):6.1f} ms  p99 {p99:6.1f} ms  "
                        f"max {max(seen):6.1f} ms  p99/idle {p99 / pct(base, 0.99):5.1f}x"
                        f"  (message {status} in {handled:6.0f} ms, {len(seen)} polls)"
                    )
                    print(f"{'':30s} answer: {_answer(channel, since)}")
        finally:
            process.terminate()
            process.wait(30)
            await channel.stop()


def _answer(channel: LocalChannel, since: int) -> str:
    sent = [c for c in channel.sent() if c.seq > since and c.kind in ("send", "reply")]
    activity = (sent[-1].activity or {}) if sent else {}
    text = activity.get("text") or ("(a card)" if activity.get("attachments") else "(none)")
    return text[:90]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,64,250", help="text sizes in KB")
    parser.add_argument("--top", type=int, default=3, help="worst shapes shown per scanner")
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--skip-scans", action="store_true")
    parser.add_argument("--skip-healthz", action="store_true")
    args = parser.parse_args()
    if not args.skip_scans:
        scan_table([int(s) for s in args.sizes.split(",")], args.top)
    if not args.skip_healthz:
        asyncio.run(healthz_during(args.idle_seconds))


if __name__ == "__main__":
    main()
