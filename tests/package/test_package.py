"""`vigil package`: the Teams app zip validates, its icons follow Teams' rules, its command menu
comes from the registry, and bad input is refused with every problem listed."""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import jsonschema
import pytest

from bot import app, package
from bot.cli import main
from bot.kernel.commands import CommandRegistry, CommandSet
from bot.kernel.rbac import Role

APP_ID = "3f2a9c4e-8b1d-4e6f-a7c2-1d5e9b0f4a38"
DOMAIN = "vigil-prod.azurewebsites.net"


@pytest.fixture(scope="module")
def schema_file() -> Path:
    try:
        return package.schema_path()
    except package.PackageError as exc:
        pytest.fail(f"{exc} (run `bash .ci/setup.d/package.sh`)", pytrace=False)


@pytest.fixture
def built(tmp_path: Path, schema_file: Path) -> zipfile.ZipFile:
    out = tmp_path / "vigil.zip"
    status = main(
        ["package", "--app-id", APP_ID, "--name", "Vigil", "--domain", DOMAIN, "--out", str(out)]
    )
    assert status == 0
    return zipfile.ZipFile(out)


def manifest_of(archive: zipfile.ZipFile) -> dict:
    return json.loads(archive.read("manifest.json"))


def test_zip_holds_the_three_files_at_its_root(built: zipfile.ZipFile) -> None:
    assert sorted(built.namelist()) == ["color.png", "manifest.json", "outline.png"]


def test_manifest_validates_against_the_bundled_official_schema(
    built: zipfile.ZipFile, schema_file: Path
) -> None:
    manifest = manifest_of(built)
    schema = json.loads(schema_file.read_text())
    assert manifest["manifestVersion"] == package.MANIFEST_VERSION
    assert manifest["$schema"].endswith(f"/v{package.MANIFEST_VERSION}/MicrosoftTeams.schema.json")
    jsonschema.Draft4Validator(schema).validate(manifest)


def test_manifest_passes_the_official_validator_in_node(
    built: zipfile.ZipFile, schema_file: Path, tmp_path: Path
) -> None:
    """ManifestUtil.validateManifestAgainstSchema (ajv) from @microsoft/app-manifest itself."""
    node = shutil.which("node")
    assert node, "node is not installed (apt-get install -y nodejs)"
    manifest_file = tmp_path / "manifest.json"
    manifest_file.write_bytes(built.read("manifest.json"))
    modules = package.schema_cache() / "node_modules"
    script = (
        "const {ManifestUtil} = require(process.argv[1]);"
        "const fs = require('fs');"
        "ManifestUtil.validateManifestAgainstSchema("
        "JSON.parse(fs.readFileSync(process.argv[2])), JSON.parse(fs.readFileSync(process.argv[3]))"
        ").then(errors => console.log(JSON.stringify(errors)));"
    )
    done = subprocess.run(
        [
            node,
            "-e",
            script,
            str(modules / "@microsoft/app-manifest"),
            str(manifest_file),
            str(schema_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_manifest_has_the_bot_scopes_rsc_channel_types_and_domain(built: zipfile.ZipFile) -> None:
    manifest = manifest_of(built)
    bot = manifest["bots"][0]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    assert manifest["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "Channel.Create.Group", "type": "Application"}
    ]
    assert sorted(manifest["supportedChannelTypes"]) == ["privateChannels", "sharedChannels"]
    assert manifest["validDomains"] == [DOMAIN]
    assert "${{" not in json.dumps(manifest)


def test_the_same_bot_id_always_gets_the_same_teams_app_id(tmp_path: Path) -> None:
    registry = CommandRegistry(app.command_sets())
    first = package.build(registry, app_id=APP_ID, name="Vigil")
    second = package.build(registry, app_id=APP_ID.upper(), name="Vigil SOC")
    assert json.loads(first["manifest.json"])["id"] == json.loads(second["manifest.json"])["id"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_icons_have_teams_sizes_and_the_outline_is_white_on_transparent(
    built: zipfile.ZipFile,
) -> None:
    assert png_size(built.read("color.png")) == (192, 192)
    assert png_size(built.read("outline.png")) == (32, 32)
    _, _, pixels = package.read_png(built.read("outline.png"))
    assert {alpha for *_, alpha in pixels} == {0, 255}
    assert all(tuple(rgb) == (255, 255, 255) for *rgb, alpha in pixels if alpha)


def test_icon_rules_reject_wrong_sizes_and_a_coloured_outline() -> None:
    color = (package.APP_PACKAGE / "color.png").read_bytes()
    outline = (package.APP_PACKAGE / "outline.png").read_bytes()
    assert package.icon_problems(color, outline) == []
    problems = package.icon_problems(outline, color)
    assert "color.png must be 192x192, is 32x32" in problems
    assert "outline.png must be 32x32, is 192x192" in problems
    assert "outline.png must have a transparent background" in problems
    assert any("must be white" in problem for problem in problems)
    assert package.icon_problems(b"GIF89a", outline) == ["color.png: not a PNG file"]


def test_committed_icons_are_what_make_icons_draws() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_icons", package.APP_PACKAGE / "make_icons.py"
    )
    assert spec and spec.loader
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)
    color = make_icons.png(make_icons.draw(192, 0.72, make_icons.WHITE, make_icons.BACKGROUND))
    outline = make_icons.png(make_icons.draw(32, 0.95, make_icons.WHITE, make_icons.CLEAR))
    assert color == (package.APP_PACKAGE / "color.png").read_bytes()
    assert outline == (package.APP_PACKAGE / "outline.png").read_bytes()


def test_command_lists_are_the_registry_selection(built: zipfile.ZipFile) -> None:
    registry = CommandRegistry(app.command_sets())
    by_name = {command.name: command for command in registry.commands()}
    lists = manifest_of(built)["bots"][0]["commandLists"]
    assert [entry["scopes"] for entry in lists] == [["personal"], ["team"], ["groupChat"]]
    for entry in lists:
        scope = entry["scopes"][0]
        eligible = [
            command
            for command in registry.commands()
            if scope == "personal" or command.role is not Role.ADMIN
        ]
        titles = [command["title"] for command in entry["commands"]]
        assert len(titles) == min(len(eligible), package.MAX_COMMANDS)
        assert set(titles) <= {command.name for command in eligible}
        assert titles[0] == "help"
        ranks = [package.ROLE_RANK[by_name[title].role] for title in titles[1:]]
        assert ranks == sorted(ranks)
        left_out = [command for command in eligible if command.name not in titles]
        assert all(package.ROLE_RANK[command.role] >= ranks[-1] for command in left_out)
        for command in entry["commands"]:
            assert command["description"] == by_name[command["title"]].summary


def test_command_lists_keep_teams_caps_with_many_long_commands() -> None:
    many = CommandSet("bulk")
    for index in range(14):
        role = Role.ADMIN if index % 2 else Role.ANALYST

        async def handler(call):  # noqa: ANN001 - never called
            return None

        many.command(f"cmd-{index:02d}", summary="x" * 200, role=role)(handler)
    lists = package.command_lists(CommandRegistry([many]))
    assert [len(entry["commands"]) for entry in lists] == [10, 7, 7]
    personal = [command["title"] for command in lists[0]["commands"]]
    # Analyst commands rank before admin ones, so all seven analyst commands are shown.
    assert personal[:7] == [f"cmd-{index:02d}" for index in range(0, 14, 2)]
    assert all(len(command["description"]) == 128 for command in lists[0]["commands"])
    assert package.menu_problems(lists) == []


def test_bad_ids_are_refused_with_every_problem_and_no_zip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "vigil.zip"
    status = main(
        [
            "package",
            "--app-id",
            "not-a-guid",
            "--name",
            "",
            "--domain",
            "https://x.example/",
            "--version",
            "1",
            "--out",
            str(out),
        ]
    )
    assert status == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert "--app-id must be a GUID" in err
    assert "--name must not be empty" in err
    assert "--domain must be a host name" in err
    assert "--version must be MAJOR.MINOR.PATCH" in err


@pytest.mark.parametrize(
    "app_id",
    [
        "00000000-0000-0000-0000-000000000000",
        "3f2a9c4e8b1d4e6fa7c21d5e9b0f4a38",
        "{3f2a9c4e-8b1d-4e6f-a7c2-1d5e9b0f4a38}",
        "3f2a9c4e-8b1d-4e6f-a7c2-1d5e9b0f4a3",
        "3f2a9c4e-8b1d-4e6f-a7c2-1d5e9b0f4a38\n",
    ],
)
def test_malformed_app_ids_are_refused(app_id: str) -> None:
    with pytest.raises(package.PackageError) as caught:
        package.build(CommandRegistry(app.command_sets()), app_id=app_id, name="Vigil")
    assert any("--app-id" in problem for problem in caught.value.problems)


def test_schema_errors_are_reported_as_problems(tmp_path: Path) -> None:
    source = tmp_path / "appPackage"
    shutil.copytree(package.APP_PACKAGE, source)
    template = json.loads((source / "manifest.json").read_text())
    template["accentColor"] = "blue"
    template["bots"][0]["scopes"].append("everywhere")
    (source / "manifest.json").write_text(json.dumps(template))
    with pytest.raises(package.PackageError) as caught:
        package.build(CommandRegistry(app.command_sets()), app_id=APP_ID, name="V", source=source)
    problems = "\n".join(caught.value.problems)
    assert "manifest accentColor" in problems
    assert "manifest bots/0/scopes/3" in problems


def test_an_unwritable_out_is_a_problem_not_a_traceback(
    tmp_path: Path, schema_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["package", "--app-id", APP_ID, "--name", "Vigil"]
    # Refused before any work, exit 2 like every CLI output path (bot/kernel/output_file.py).
    assert main([*args, "--out", str(tmp_path / "missing" / "vigil.zip")]) == 2
    assert "cannot write" in capsys.readouterr().err
    # A directory in the way: refused, the directory untouched and no partial file left behind.
    assert main([*args, "--out", str(tmp_path)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_failed_build_leaves_an_existing_zip_as_it_was(tmp_path: Path, schema_file: Path) -> None:
    out = tmp_path / "vigil.zip"
    out.write_bytes(b"the previous package")
    assert main(["package", "--app-id", "nope", "--name", "Vigil", "--out", str(out)]) == 1
    assert out.read_bytes() == b"the previous package"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Vi\ngil", "--name must be one line of printable characters"),
        ("Vigil\x00", "--name must be one line of printable characters"),
        (" Vigil", "--name must be one line of printable characters"),
        ("\u202eligiV", "--name must be one line of printable characters"),
        ("x" * 31, "--name must be at most 30 characters"),
    ],
)
def test_hostile_names_are_refused(name: str, problem: str) -> None:
    with pytest.raises(package.PackageError) as caught:
        package.build(CommandRegistry(app.command_sets()), app_id=APP_ID, name=name)
    assert any(problem in found for found in caught.value.problems)


def test_a_name_that_looks_like_a_placeholder_stays_text(schema_file: Path) -> None:
    registry = CommandRegistry(app.command_sets())
    files = package.build(registry, app_id=APP_ID, name='${{DOMAIN}} "q" \\', domain=DOMAIN)
    manifest = json.loads(files["manifest.json"])
    assert manifest["name"]["short"] == '${{DOMAIN}} "q" \\'
    assert manifest["developer"]["websiteUrl"] == f"https://{DOMAIN}/"


@pytest.mark.parametrize(
    "domain",
    ["*.azurewebsites.net", "vigil.example.com:443", "https://vigil.example.com", "localhost"],
)
def test_domains_that_are_not_one_host_are_refused(domain: str) -> None:
    with pytest.raises(package.PackageError) as caught:
        package.build(CommandRegistry(app.command_sets()), app_id=APP_ID, name="V", domain=domain)
    assert any("--domain must be a host name" in problem for problem in caught.value.problems)


def test_a_missing_or_broken_template_is_a_problem(tmp_path: Path) -> None:
    registry = CommandRegistry(app.command_sets())
    with pytest.raises(package.PackageError) as caught:
        package.build(registry, app_id=APP_ID, name="V", source=tmp_path / "nowhere")
    assert "pip install -e ." in caught.value.problems[0]
    source = tmp_path / "appPackage"
    shutil.copytree(package.APP_PACKAGE, source)
    (source / "manifest.json").write_text('{"id": ')
    with pytest.raises(package.PackageError) as caught:
        package.build(registry, app_id=APP_ID, name="V", source=source)
    assert "is not valid JSON" in caught.value.problems[0]
    (source / "manifest.json").write_text('{"id": "${{APP_ID}}", "x": "${{SECRET}}"}')
    with pytest.raises(package.PackageError) as caught:
        package.build(registry, app_id=APP_ID, name="V", source=source)
    assert caught.value.problems == [
        "manifest.json has placeholders vigil package does not fill: SECRET"
    ]
