"""Dead letters and the outbox depth on /metrics, read from the store on each scrape."""

from __future__ import annotations

import asyncio
import re

import aiohttp

from tests.alerts.test_delivery import alert
from tests.alerts.webhook import post


async def scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    found = re.findall(r"^(vigil_alert_\w+) ([0-9.e+-]+)$", text, re.MULTILINE)
    return {name: float(value) for name, value in found}


async def until_scraped(url: str, name: str, value: float, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen: dict[str, float] = {}
    while loop.time() < deadline:
        seen = await scrape(url)
        if seen.get(name) == value:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never {value}; last scrape {seen}")


async def test_an_empty_outbox_reads_zero(bot):
    assert await scrape(bot.url) == {
        "vigil_alert_dead_letters": 0.0,
        "vigil_alert_outbox_pending": 0.0,
    }


async def test_a_refused_card_is_counted_as_a_dead_letter_and_a_throttled_one_as_pending(bot):
    bot.channel.inject_faults(403, 1)
    status, _ = await post(bot.url, "generic", alert("Refused card", "WS-1", 1))
    assert status == 202
    await until_scraped(bot.url, "vigil_alert_dead_letters", 1.0)
    assert (await scrape(bot.url))["vigil_alert_outbox_pending"] == 0.0

    since = bot.channel.last_seq
    bot.channel.inject_faults(429, 1000, retry_after=0.01)
    status, _ = await post(bot.url, "generic", alert("Throttled card", "WS-2", 1))
    assert status == 202
    for _ in range(300):
        if any(c.seq > since and c.status == 429 for c in bot.channel.attempts()):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the second card was never tried")
    # Throttled, so still due: pending, and the refused card still the one dead letter.
    assert await scrape(bot.url) == {
        "vigil_alert_dead_letters": 1.0,
        "vigil_alert_outbox_pending": 1.0,
    }
