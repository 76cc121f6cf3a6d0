"""`vigil package`: the Teams app zip that admins sideload, built from appPackage/.

The manifest's ids are filled in, its commandLists are regenerated from the running command
registry (so help and Teams' command menu cannot drift), and the result is checked against the
official manifest schema bundled in npm @microsoft/app-manifest and against Teams' icon rules.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import uuid
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema

from bot.kernel.commands import Command, CommandRegistry
from bot.kernel.output_file import EXIT_REFUSED, OutputRefused, checked_output, replaced_on_success
from bot.kernel.rbac import Role

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGE = ROOT / "appPackage"
MANIFEST_VERSION = "1.22"
# fs-extra: the package's index.js requires it but declares it only as a dev dependency.
NPM_PACKAGES = ("@microsoft/app-manifest@1.1.2", "fs-extra@11.3.0")
SCOPES = ("personal", "team", "groupChat")
# Teams' documented caps for a bot's command menu (the schema alone allows longer strings).
MAX_COMMANDS = 10
MAX_TITLE = 32
MAX_DESCRIPTION = 128
# Admin work (the audit trail) is answered 1:1 only, so it stays out of shared menus.
SHARED_SCOPE_EXCLUDED_ROLES = frozenset({Role.ADMIN})
# Commands anyone may run come first, then by how widely the role is held.
ROLE_RANK = {
    None: 0,
    Role.ANALYST: 1,
    Role.RESPONDER: 2,
    Role.APPROVER: 3,
    Role.COMMANDER: 4,
    Role.ADMIN: 5,
}
# A stable namespace so one bot id always yields the same Teams app id (updates, not new apps).
TEAMS_APP_NAMESPACE = uuid.UUID("6f1d6c1e-3a0e-4d55-9a52-5c1b3f0e7a11")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# The bot's own host: it also makes the developer URLs, so no wildcard.
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
NO_DOMAIN = "vigil.invalid"
PLACEHOLDER = re.compile(r"\$\{\{([A-Z_]+)\}\}")
PLACEHOLDERS = ("APP_ID", "TEAMS_APP_ID", "NAME", "DOMAIN", "VERSION")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PackageError(Exception):
    """The package cannot be built; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def command_lists(registry: CommandRegistry) -> list[dict[str, Any]]:
    """One command list per scope: Teams shows at most 10, so the most widely usable come first."""
    lists = []
    for scope in SCOPES:
        chosen = [command for command in registry.commands() if shown_in(command, scope)]
        chosen.sort(key=lambda command: (command.name != "help", ROLE_RANK[command.role]))
        entries = [menu_entry(command) for command in chosen[:MAX_COMMANDS]]
        lists.append({"scopes": [scope], "commands": entries})
    return lists


def shown_in(command: Command, scope: str) -> bool:
    return scope == "personal" or command.role not in SHARED_SCOPE_EXCLUDED_ROLES


def menu_entry(command: Command) -> dict[str, str]:
    description = command.summary
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1].rstrip() + "…"
    return {"title": command.name, "description": description}


def fill_manifest(
    template: dict[str, Any],
    *,
    app_id: str,
    name: str,
    domain: str | None,
    version: str,
    lists: list[dict[str, Any]],
) -> dict[str, Any]:
    """The template with ids, names and the command menu filled in."""
    teams_app_id = str(uuid.uuid5(TEAMS_APP_NAMESPACE, app_id.lower()))
    values = {
        "APP_ID": app_id.lower(),
        "TEAMS_APP_ID": teams_app_id,
        "NAME": name,
        "DOMAIN": domain or NO_DOMAIN,
        "VERSION": version,
    }
    # One pass, so a value that itself reads like a placeholder (a name "${{DOMAIN}}") stays text;
    # json.dumps of the value keeps quotes and backslashes in a name from breaking the JSON.
    text = PLACEHOLDER.sub(
        lambda found: json.dumps(values[found[1]])[1:-1] if found[1] in values else found[0],
        json.dumps(template),
    )
    manifest = json.loads(text)
    manifest["validDomains"] = [domain] if domain else []
    for bot in manifest.get("bots", []):
        bot["commandLists"] = lists
    return manifest


def argument_problems(app_id: str, name: str, domain: str | None, version: str) -> list[str]:
    problems = []
    if not GUID.fullmatch(app_id):
        problems.append(f"--app-id must be a GUID (the bot's Microsoft App ID), got {app_id!r}")
    elif app_id.strip("0-") == "":
        problems.append("--app-id is the all-zero GUID; use the bot's real Microsoft App ID")
    if not name.strip():
        problems.append("--name must not be empty")
    elif len(name) > 30:
        problems.append(f"--name must be at most 30 characters (Teams short name), got {len(name)}")
    elif not name.isprintable() or name != name.strip():
        problems.append(
            f"--name must be one line of printable characters without leading or trailing "
            f"spaces, got {name!r}"
        )
    if domain is not None and not HOSTNAME.fullmatch(domain):
        problems.append(
            f"--domain must be a host name such as vigil.azurewebsites.net "
            f"(no scheme, port or path), got {domain!r}"
        )
    if not SEMVER.fullmatch(version):
        problems.append(f"--version must be MAJOR.MINOR.PATCH, got {version!r}")
    return problems


def menu_problems(lists: Iterable[dict[str, Any]]) -> list[str]:
    problems = []
    for entry in lists:
        scope = "/".join(entry["scopes"])
        if len(entry["commands"]) > MAX_COMMANDS:
            problems.append(f"commandLists[{scope}] has more than {MAX_COMMANDS} commands")
        for command in entry["commands"]:
            if len(command["title"]) > MAX_TITLE:
                problems.append(f"command title {command['title']!r} is over {MAX_TITLE} chars")
            if len(command["description"]) > MAX_DESCRIPTION:
                problems.append(f"command {command['title']!r} description is over 128 chars")
    return problems


def schema_problems(manifest: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Errors from the official schema, as `path: message` lines."""
    # The schemas declare draft-04 but use `const` (draft-06); ajv, which the official tooling
    # uses, enforces it, so we do too.
    validator_class = jsonschema.validators.extend(
        jsonschema.Draft4Validator, {"const": jsonschema.Draft6Validator.VALIDATORS["const"]}
    )
    validator = validator_class(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(manifest), key=lambda error: list(error.absolute_path))
    return [
        f"manifest {'/'.join(str(part) for part in error.absolute_path) or '(root)'}: "
        f"{error.message[:300]}"
        for error in errors
    ]


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit RGBA or grey+alpha, non-interlaced PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    offset, header, idat = len(PNG_SIGNATURE), b"", b""
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    if len(header) != 13:
        raise ValueError("PNG has no IHDR header")
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {6: 4, 4: 2}.get(color_type)
    if channels is None or depth != 8 or interlace:
        raise ValueError("PNG must be 8-bit RGBA (or grey+alpha), not interlaced, to be checked")
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels = []
    for row in range(height):
        start = row * (stride + 1)
        line = unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        for col in range(width):
            value = line[col * channels : (col + 1) * channels]
            rgba = tuple(value) if channels == 4 else (value[0], value[0], value[0], value[1])
            pixels.append(rgba)
        previous = line
    return width, height, pixels


def unfilter(kind: int, line: bytearray, previous: bytearray, step: int) -> bytearray:
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth)."""
    for index in range(len(line)):
        left = line[index - step] if index >= step else 0
        up = previous[index]
        upper_left = previous[index - step] if index >= step else 0
        if kind == 1:
            line[index] = (line[index] + left) & 0xFF
        elif kind == 2:
            line[index] = (line[index] + up) & 0xFF
        elif kind == 3:
            line[index] = (line[index] + (left + up) // 2) & 0xFF
        elif kind == 4:
            estimate = left + up - upper_left
            distances = (abs(estimate - left), abs(estimate - up), abs(estimate - upper_left))
            predictor = (left, up, upper_left)[distances.index(min(distances))]
            line[index] = (line[index] + predictor) & 0xFF
    return line


def icon_problems(color: bytes, outline: bytes) -> list[str]:
    """Teams' rules: color.png 192x192; outline.png 32x32, white on a transparent background."""
    problems = []
    try:
        width, height, _ = read_png(color)
        if (width, height) != (192, 192):
            problems.append(f"color.png must be 192x192, is {width}x{height}")
    except (ValueError, zlib.error) as exc:
        problems.append(f"color.png: {exc}")
    try:
        width, height, pixels = read_png(outline)
        if (width, height) != (32, 32):
            problems.append(f"outline.png must be 32x32, is {width}x{height}")
        if not any(alpha == 0 for *_, alpha in pixels):
            problems.append("outline.png must have a transparent background")
        if any(
            alpha and (red, green, blue) != (255, 255, 255) for red, green, blue, alpha in pixels
        ):
            problems.append("outline.png must be white: every visible pixel must be #FFFFFF")
        if all(alpha == 0 for *_, alpha in pixels):
            problems.append("outline.png is empty (fully transparent)")
    except (ValueError, zlib.error) as exc:
        problems.append(f"outline.png: {exc}")
    return problems


def schema_cache() -> Path:
    default = ROOT / ".cache" / "app-manifest"
    return Path(os.environ.get("VIGIL_APP_MANIFEST_CACHE", default))


def schema_path() -> Path:
    """The official schema for our manifest version, installed from npm on first use."""
    cache = schema_cache()
    found = (
        cache
        / "node_modules/@microsoft/app-manifest/build/json-schemas/teams"
        / f"v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
    )
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel tests may install at the same time
        stamp = cache / "installed.txt"
        if found.exists() and stamp.exists() and stamp.read_text() == " ".join(NPM_PACKAGES):
            return found
        npm = shutil.which("npm")
        if npm is None:
            raise PackageError(
                [f"npm is not installed; it fetches the official schema ({NPM_PACKAGES[0]})"]
            )
        # Fixed argv of our own tool; no shell, nothing from untrusted input.
        done = subprocess.run(  # noqa: S603
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache), *NPM_PACKAGES],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not found.exists():
            raise PackageError([f"npm install {NPM_PACKAGES} failed: {done.stderr[-2000:]}"])
        stamp.write_text(" ".join(NPM_PACKAGES))
    return found


def build(
    registry: CommandRegistry,
    *,
    app_id: str,
    name: str,
    domain: str | None = None,
    version: str = "1.0.0",
    source: Path = APP_PACKAGE,
) -> dict[str, bytes]:
    """The files of the zip, by name; raises PackageError listing every problem found."""
    problems = argument_problems(app_id, name, domain, version)
    if problems:
        raise PackageError(problems)
    template, files = read_source(source)
    unknown = sorted(set(PLACEHOLDER.findall(json.dumps(template))) - set(PLACEHOLDERS))
    if unknown:
        raise PackageError(
            [f"manifest.json has placeholders vigil package does not fill: {', '.join(unknown)}"]
        )
    lists = command_lists(registry)
    manifest = fill_manifest(
        template, app_id=app_id, name=name, domain=domain, version=version, lists=lists
    )
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    problems = (
        schema_problems(manifest, schema)
        + menu_problems(lists)
        + icon_problems(files["color.png"], files["outline.png"])
    )
    if problems:
        raise PackageError(problems)
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    return files


def read_source(source: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest template and the icons; PackageError when they are missing or unreadable."""
    try:
        template = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
        icons = {name: (source / name).read_bytes() for name in ("color.png", "outline.png")}
    except OSError as exc:
        # A wheel install has no appPackage/: the package is built from a source checkout.
        raise PackageError(
            [
                f"cannot read the app template in {source} ({exc.strerror or exc}); run "
                "`vigil package` from a Vigil source checkout installed with `pip install -e .`"
            ]
        ) from None
    except ValueError as exc:
        raise PackageError([f"{source / 'manifest.json'} is not valid JSON: {exc}"]) from None
    if not isinstance(template, dict):
        raise PackageError([f"{source / 'manifest.json'} must hold a JSON object"])
    return template, icons


def write_zip(files: dict[str, bytes], out: Path) -> None:
    """Files at the zip root (Teams rejects a folder inside); fixed times make it repeatable.

    Written next to `out` and renamed into place (bot/kernel/output_file.py), so a failure never
    leaves a partial zip; raises OutputRefused for a symlink or a missing directory, and
    PackageError when the file cannot be written.
    """
    try:
        with (
            replaced_on_success(out, binary=True) as target,
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name])
    except OSError as exc:
        raise PackageError([f"cannot write {out}: {exc.strerror or exc}"]) from None


def run(args: argparse.Namespace) -> int:
    from bot.app import command_sets

    out = Path(args.out)
    try:
        checked_output(out)  # before any work: a refused path costs nothing
        files = build(
            CommandRegistry(command_sets()),
            app_id=args.app_id,
            name=args.name,
            domain=args.domain,
            version=args.version,
        )
        write_zip(files, out)
    except OutputRefused as exc:
        print(f"vigil package: cannot write --out: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except PackageError as exc:
        print("vigil package: the app package was not written:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    manifest = json.loads(files["manifest.json"])
    shown = {
        entry["scopes"][0]: len(entry["commands"]) for entry in manifest["bots"][0]["commandLists"]
    }
    print(f"wrote {out} (Teams app id {manifest['id']}, bot {manifest['bots'][0]['botId']})")
    print("commands per scope: " + ", ".join(f"{scope} {count}" for scope, count in shown.items()))
    if args.domain is None:
        print("note: no --domain; validDomains is empty and developer URLs point to vigil.invalid")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "package", help="build the Teams app zip (appPackage/) for sideloading"
    )
    parser.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (a GUID)")
    parser.add_argument("--name", required=True, help="the app's short name in Teams (≤ 30 chars)")
    parser.add_argument("--out", default="vigil.zip", help="zip to write (default vigil.zip)")
    parser.add_argument("--domain", help="the bot's host name, e.g. vigil-prod.azurewebsites.net")
    parser.add_argument(
        "--version", default="1.0.0", help="app version; raise it for every update (default 1.0.0)"
    )
    parser.set_defaults(func=run)
