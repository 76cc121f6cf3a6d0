"""The code's shape, measured: what issue 15 asked to count, for this tree and a baseline revision.

- modules importing a Bot Framework package (botbuilder, botframework, msrest);
- the files of bot/, cards/ and dialogs/ whose code runs for one `check-ip` chat message (HTTP in
  to the card posted) and for one alert (POST /api/alerts/generic to the card posted), found by
  profiling a real run through the local channel (the channel stand-in itself is not counted);
- the longest functions; the modules at the top level of bot/.

Run: python bench/architecture.py [--baseline REV]   (REV is checked out in a temporary worktree)
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT_FRAMEWORK = ("botbuilder", "botframework", "msrest")
SOURCES = ("bot", "cards", "dialogs")

# Runs inside the measured tree (its own tests' harness), prints the executed files as JSON.
TRACE = r"""
import asyncio, json, os, sys, tempfile
ROOT = os.getcwd()
from tests.bot.harness import ADMIN, ANALYST, Harness
from tests.alerts.test_delivery import GENERAL, alert, routes_env
from tests.alerts.webhook import post

seen = set()

def profile(frame, event, arg):
    if event == "call":
        seen.add(frame.f_code.co_filename)

def ours(files):
    found = set()
    for name in files:
        rel = os.path.relpath(name, ROOT)
        if rel.split(os.sep)[0] in ("bot", "cards", "dialogs") and "devchannel" not in rel:
            if not rel.endswith("terminal_chat.py") and not rel.endswith("card_text.py"):
                found.add(rel)
    return sorted(found)

async def main():
    folder = tempfile.mkdtemp()
    harness = await Harness.start(f"sqlite:///{folder}/v.db", routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        await harness.say(ANALYST, "check-ip 198.51.100.23")
        seen.clear()
        sys.setprofile(profile)
        await harness.say(ANALYST, "check-ip 198.51.100.24")
        sys.setprofile(None)
        chat = ours(seen)
        await post(harness.url, "generic", alert("Warm up", "WS-0", 0))
        await asyncio.sleep(2)
        seen.clear()
        since = harness.channel.last_seq
        sys.setprofile(profile)
        status, _ = await post(harness.url, "generic", alert("Encoded PowerShell", "WS-1", 1))
        await harness.channel.wait_for(
            lambda call: call.kind == "send"
            and (call.conversation_id or "").startswith(GENERAL.id),
            since=since,
        )
        sys.setprofile(None)
        print(json.dumps({"chat": chat, "alert": ours(seen), "status": status}))
    finally:
        await harness.close()

asyncio.run(main())
"""


def bot_framework_importers(tree: Path) -> list[str]:
    found = []
    for path in _python_files(tree):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(name.split(".")[0] in BOT_FRAMEWORK for name in names):
                found.append(str(path.relative_to(tree)))
                break
    return sorted(found)


def longest_functions(tree: Path, count: int = 3) -> list[tuple[int, str]]:
    sizes = []
    for path in _python_files(tree):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                sizes.append((lines, f"{path.relative_to(tree)}:{node.lineno} {node.name}"))
    return sorted(sizes, reverse=True)[:count]


def top_level_modules(tree: Path) -> int:
    return sum(1 for path in (tree / "bot").glob("*.py") if path.name != "__init__.py")


def core_paths(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", TRACE],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _python_files(tree: Path) -> list[Path]:
    return [path for source in SOURCES for path in sorted((tree / source).rglob("*.py"))]


def measure(tree: Path) -> dict:
    paths = core_paths(tree)
    return {
        "bot_framework": bot_framework_importers(tree),
        "chat": paths["chat"],
        "alert": paths["alert"],
        "longest": longest_functions(tree),
        "top_level": top_level_modules(tree),
    }


def report(name: str, figures: dict) -> None:
    print(f"== {name}")
    print(f"modules importing a Bot Framework package: {len(figures['bot_framework'])}")
    for module in figures["bot_framework"]:
        print(f"   {module}")
    print(f"files on the core path of check-ip: {len(figures['chat'])}")
    print(f"files on the core path of an alert: {len(figures['alert'])}")
    print(f"modules at the top level of bot/: {figures['top_level']}")
    for lines, where in figures["longest"]:
        print(f"   {lines:4d} lines  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to measure beside this tree")
    parser.add_argument("--list", action="store_true", help="list the core-path files")
    args = parser.parse_args()
    current = measure(ROOT)
    report("this tree", current)
    if args.list:
        print("check-ip:", *current["chat"], sep="\n   ")
        print("alert:", *current["alert"], sep="\n   ")
    if not args.baseline:
        return
    with tempfile.TemporaryDirectory() as folder:
        worktree = Path(folder) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), args.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            baseline = measure(worktree)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=True
            )
    report(f"baseline {args.baseline}", baseline)
    if args.list:
        print("check-ip:", *baseline["chat"], sep="\n   ")
        print("alert:", *baseline["alert"], sep="\n   ")
    for key, label in (
        ("bot_framework", "Bot Framework importers"),
        ("chat", "check-ip path"),
        ("alert", "alert path"),
    ):
        print(
            f"{label}: {len(current[key])} vs {len(baseline[key])} "
            f"({len(current[key]) / max(1, len(baseline[key])):.2f}x)"
        )


if __name__ == "__main__":
    main()
