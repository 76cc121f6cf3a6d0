"""`vigil alert send` posts to the Vigil that this configuration serves (VIGIL_HOST, VIGIL_PORT)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from bot.cli import main
from bot.kernel.signature import sign

KEY = "send-cli-test-key"


async def _receiver() -> tuple[web.AppRunner, int, list[web.Request], list[bytes]]:
    seen: list[web.Request] = []
    bodies: list[bytes] = []

    async def alerts(request: web.Request) -> web.Response:
        seen.append(request)
        bodies.append(await request.read())
        return web.json_response({"status": "accepted"}, status=202)

    app = web.Application()
    app.router.add_post("/api/alerts/{source}", alerts)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the ephemeral port the OS chose
    return runner, port, seen, bodies


async def test_send_goes_to_the_configured_port_signed(tmp_path, monkeypatch):
    runner, port, seen, bodies = await _receiver()
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps({"title": "disk full", "severity": "high"}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIGIL_HOST", "0.0.0.0")  # noqa: S104 (listening everywhere: post to loopback)
    monkeypatch.setenv("VIGIL_PORT", str(port))
    monkeypatch.setenv("VIGIL_SECRET_ALERTS_GENERIC_HMAC_KEY", KEY)
    try:
        code = await asyncio.to_thread(main, ["alert", "send", str(alert)])
    finally:
        await runner.cleanup()
    assert code == 0
    [request] = seen
    assert request.path == "/api/alerts/generic"
    stamp = request.headers["X-Vigil-Timestamp"]
    assert request.headers["X-Vigil-Signature"] == sign(KEY, stamp, bodies[0])


async def test_url_flag_wins_over_the_port(tmp_path, monkeypatch):
    runner, port, seen, _ = await _receiver()
    alert = tmp_path / "alert.json"
    alert.write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIGIL_PORT", "1")  # nothing listens there
    monkeypatch.setenv("VIGIL_SECRET_ALERTS_GENERIC_TOKEN", "tok-send-cli")
    try:
        argv = ["alert", "send", "--url", f"http://127.0.0.1:{port}/", str(alert)]
        code = await asyncio.to_thread(main, argv)
    finally:
        await runner.cleanup()
    assert code == 0
    assert seen[0].headers["Authorization"] == "Bearer tok-send-cli"


def test_bad_port_setting_is_a_clear_error(tmp_path, monkeypatch, capsys):
    alert = tmp_path / "alert.json"
    alert.write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIGIL_PORT", "eighty")
    assert main(["alert", "send", str(alert)]) == 2
    assert "service.port" in capsys.readouterr().err
