"""The RPZ connector: zone syntax (named-checkzone and our parser), serials, rollback, hostile
targets, and two writers (two processes) that never lose each other's records."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.containment.connector import Action, ConnectorError, Outcome, Request
from bot.containment.rpz import RpzConnector
from bot.containment.rpz_names import BadTarget, dns_name, ip_trigger, owners
from bot.containment.rpz_zone import ZoneCorrupt, parse

ZONE = "rpz.vigil.local"


def request(approval_id: str, action: Action, target: str) -> Request:
    return Request(approval_id, action, target, "beaconing", "Rita Responder", ("Al Approver",))


@pytest.fixture
def rpz(tmp_path) -> RpzConnector:
    return RpzConnector(tmp_path / "rpz" / "vigil.rpz.zone", ZONE)


def records(path: Path) -> dict[str, list[str]]:
    return parse(path.read_text(), ZONE).records


def serial(path: Path) -> int:
    return parse(path.read_text(), ZONE).serial


def named_checkzone(path: Path) -> str:
    tool = shutil.which("named-checkzone")
    if tool is None:
        pytest.fail("named-checkzone is missing: run .ci/setup.d/rpz.sh (Debian bind9-utils)")
    done = subprocess.run(  # noqa: S603 - a fixed tool on a file the test wrote
        [tool, ZONE, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_block_domain_writes_a_zone_bind_accepts(rpz):
    result = await rpz.execute(request("AP-20250101-0001", Action.BLOCK_DOMAIN, "Evil.Example.COM"))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.external_id == "evil.example.com"
    assert result.provenance.connector == "rpz"
    assert len(result.response_digest) == 64
    text = rpz.path.read_text()
    assert "evil.example.com CNAME . ; AP-20250101-0001" in text
    assert "*.evil.example.com CNAME . ; AP-20250101-0001" in text
    assert f"$ORIGIN {ZONE}." in text
    out = named_checkzone(rpz.path)
    assert "loaded serial" in out


async def test_ip_records_use_the_rpz_ip_form(rpz):
    await rpz.execute(request("AP-1", Action.BLOCK_IP, "203.0.113.7"))
    await rpz.execute(request("AP-2", Action.BLOCK_IP, "2001:db8::1"))
    await rpz.execute(request("AP-3", Action.BLOCK_URL, "https://198.51.100.9:8443/x?y=1"))
    found = records(rpz.path)
    assert found["32.7.113.0.203.rpz-ip"] == ["AP-1"]
    assert found["128.1.zz.db8.2001.rpz-ip"] == ["AP-2"]
    assert found["32.9.100.51.198.rpz-ip"] == ["AP-3"]
    named_checkzone(rpz.path)


@pytest.mark.parametrize(
    ("address", "owner"),
    [
        ("192.0.2.1", "32.1.2.0.192.rpz-ip"),
        ("2001:db8::1", "128.1.zz.db8.2001.rpz-ip"),
        ("::1", "128.1.zz.rpz-ip"),
        ("2001:db8:0:1:0:0:0:1", "128.1.zz.1.0.db8.2001.rpz-ip"),
        ("2001:db8:1:2:3:4:0:1", "128.1.0.4.3.2.1.db8.2001.rpz-ip"),
        ("fe80::", "128.zz.fe80.rpz-ip"),
    ],
)
def test_ip_trigger_names(address, owner):
    assert ip_trigger(address) == owner


async def test_url_blocks_its_host_and_says_so(rpz):
    info = await rpz.describe(Action.BLOCK_URL, "https://evil.example.com/payload.exe")
    assert ("RPZ records", "evil.example.com, *.evil.example.com") in info.facts
    assert any("host name" in value for _, value in info.facts)
    result = await rpz.execute(request("AP-4", Action.BLOCK_URL, "https://evil.example.com/p"))
    assert result.outcome is Outcome.SUCCEEDED
    assert "host name" in result.detail


async def test_serial_strictly_increases_on_every_write(rpz):
    seen = []
    for number in range(5):
        await rpz.execute(request(f"AP-{number}", Action.BLOCK_DOMAIN, f"d{number}.example.com"))
        seen.append(serial(rpz.path))
    await rpz.rollback(request("AP-0", Action.BLOCK_DOMAIN, "d0.example.com"), "")
    seen.append(serial(rpz.path))
    assert seen == sorted(set(seen))
    assert len(seen) == 6


async def test_rollback_removes_only_its_own_records(rpz):
    await rpz.execute(request("AP-1", Action.BLOCK_DOMAIN, "evil.example.com"))
    await rpz.execute(request("AP-2", Action.BLOCK_DOMAIN, "evil.example.com"))
    await rpz.execute(request("AP-3", Action.BLOCK_DOMAIN, "other.example.net"))
    result = await rpz.rollback(request("AP-1", Action.BLOCK_DOMAIN, "evil.example.com"), "")
    assert result.outcome is Outcome.SUCCEEDED
    assert "still blocked by another approval" in result.detail
    assert records(rpz.path)["evil.example.com"] == ["AP-2"]
    await rpz.rollback(request("AP-2", Action.BLOCK_DOMAIN, "evil.example.com"), "")
    assert set(records(rpz.path)) == {"other.example.net", "*.other.example.net"}
    again = await rpz.rollback(request("AP-2", Action.BLOCK_DOMAIN, "evil.example.com"), "")
    assert again.outcome is Outcome.SUCCEEDED
    assert "already removed" in again.detail
    named_checkzone(rpz.path)


async def test_find_sent_and_poll_after_a_crash(rpz, tmp_path):
    sent = request("AP-9", Action.BLOCK_DOMAIN, "evil.example.com")
    assert await rpz.find_sent(sent) is None
    await rpz.execute(sent)
    # A new process (a new connector on the same file) finds what the approval sent.
    fresh = RpzConnector(rpz.path, ZONE)
    found = await fresh.find_sent(sent)
    assert found is not None
    assert found.outcome is Outcome.SUCCEEDED
    assert found.external_id == "evil.example.com"
    assert (await fresh.poll(sent, found.external_id)).outcome is Outcome.SUCCEEDED
    await fresh.rollback(sent, found.external_id)
    assert (await rpz.poll(sent, found.external_id)).outcome is Outcome.FAILED


@pytest.mark.parametrize(
    "target",
    [
        "evil.example.com\n$INCLUDE /etc/passwd",
        "evil.example.com CNAME rpz-passthru.",
        "evil.example.com;comment",
        "*.example.com",
        "-bad-.example.com",
        "com",
        "",
        "a" * 64 + ".example.com",
        ("abcdefghi." * 26) + "com",
        "evil..example.com",
        "ex ample.com",
        "\x00.example.com",
        "$ORIGIN.example.com",
    ],
)
async def test_hostile_domains_never_reach_the_file(rpz, target):
    with pytest.raises(ConnectorError):
        await rpz.describe(Action.BLOCK_DOMAIN, target)
    result = await rpz.execute(request("AP-5", Action.BLOCK_DOMAIN, target))
    assert result.outcome is Outcome.FAILED
    assert result.detail.startswith("rpz: ")
    assert not rpz.path.exists()


def test_unicode_domains_are_idna_encoded():
    assert dns_name("bücher.example") == "xn--bcher-kva.example"
    assert owners(Action.BLOCK_DOMAIN, "BÜCHER.example.", ZONE)[0] == "xn--bcher-kva.example"


@pytest.mark.parametrize("target", ["203.0.113.0/24", "999.1.1.1", "not-an-ip", "1.2.3.4\n"])
async def test_bad_addresses_fail_with_a_reason(rpz, target):
    result = await rpz.execute(request("AP-6", Action.BLOCK_IP, target))
    if target == "1.2.3.4\n":
        # Surrounding white space is trimmed; the address itself is fine.
        assert result.outcome is Outcome.SUCCEEDED
    else:
        assert result.outcome is Outcome.FAILED
        assert "address" in result.detail


async def test_hashes_and_isolation_are_not_supported(rpz):
    assert not rpz.supports(Action.BLOCK_HASH)
    assert not rpz.supports(Action.ISOLATE_ENDPOINT)
    with pytest.raises(BadTarget):
        owners(Action.BLOCK_HASH, "a" * 64, ZONE)


async def test_hostile_approval_id_is_refused(rpz):
    result = await rpz.execute(request("AP-1\n$INCLUDE x", Action.BLOCK_DOMAIN, "e.example.com"))
    assert result.outcome is Outcome.FAILED
    assert not rpz.path.exists()


async def test_a_hand_edited_file_is_refused_not_overwritten(rpz):
    await rpz.execute(request("AP-1", Action.BLOCK_DOMAIN, "evil.example.com"))
    edited = rpz.path.read_text() + "manual.example.com CNAME rpz-passthru.\n"
    rpz.path.write_text(edited)
    result = await rpz.execute(request("AP-2", Action.BLOCK_DOMAIN, "more.example.com"))
    assert result.outcome is Outcome.FAILED
    assert "not written by Vigil" in result.detail
    assert rpz.path.read_text() == edited
    with pytest.raises(ConnectorError, match="not written by Vigil"):
        await rpz.check()


def test_parser_reads_what_render_writes_and_rejects_the_rest():
    zone = parse("", ZONE)
    zone.add("evil.example.com", "AP-1")
    zone.add("*.evil.example.com", "AP-1")
    zone.add("evil.example.com", "AP-2")
    zone.bump(1_700_000_000)
    again = parse(zone.render(), ZONE)
    assert again.records == zone.records
    assert again.serial == 1_700_000_000
    for bad in (
        "$ORIGIN other.zone.\n",
        zone.render().replace("; AP-1 AP-2", ""),
        "$INCLUDE /etc/passwd\n",
        "evil.example.com CNAME . ; AP-1\n",  # no SOA
    ):
        with pytest.raises(ZoneCorrupt):
            parse(bad, ZONE)


async def test_check_reports_the_file(rpz, tmp_path):
    line = await rpz.check()
    assert "will be created" in line
    await rpz.execute(request("AP-1", Action.BLOCK_DOMAIN, "evil.example.com"))
    assert re.search(r"parses .*2 records", await rpz.check())


def _writer(path: str, prefix: str, count: int) -> None:
    async def run() -> None:
        connector = RpzConnector(path, ZONE)
        for number in range(count):
            target = f"{prefix}{number}.example.com"
            result = await connector.execute(
                request(f"AP-{prefix}{number}", Action.BLOCK_DOMAIN, target)
            )
            assert result.outcome is Outcome.SUCCEEDED, result.detail

    asyncio.run(run())


def test_two_processes_writing_lose_nothing(tmp_path):
    path = str(tmp_path / "rpz" / "vigil.rpz.zone")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, p, 25)) for p in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    found = records(Path(path))
    assert len(found) == 100
    assert {f"a{n}.example.com" for n in range(25)} <= set(found)
    assert {f"b{n}.example.com" for n in range(25)} <= set(found)
    named_checkzone(Path(path))


async def test_concurrent_writers_in_one_process_lose_nothing(rpz):
    other = RpzConnector(rpz.path, ZONE)
    results = await asyncio.gather(
        *(
            (rpz if number % 2 else other).execute(
                request(f"AP-{number}", Action.BLOCK_DOMAIN, f"c{number}.example.com")
            )
            for number in range(30)
        )
    )
    assert all(result.outcome is Outcome.SUCCEEDED for result in results)
    assert len(records(rpz.path)) == 60
