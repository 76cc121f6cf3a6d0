"""Starting a run on a webhook SOAR: one signed POST with the run id as Idempotency-Key.

Signed like every Vigil webhook (bot/kernel/signature.py). Any 2xx means started; any other
answer, or none within the timeout, fails the run with the reason. Nothing is retried: a person
starts the playbook again if they want to (the SOAR may have acted on a post whose answer was lost).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.kernel.http_body import json_or_none, read_capped
from bot.kernel.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.playbooks.config import Playbook
from bot.secrets.source import SecretSource, SecretUnavailable

MAX_ANSWER = 16 * 1024


@dataclass(frozen=True)
class Started:
    ok: bool
    detail: str  # what the SOAR said, or why it failed; never a secret


async def start(
    http: aiohttp.ClientSession,
    secrets: SecretSource,
    playbook: Playbook,
    payload: dict[str, Any],
    timeout: float,  # noqa: ASYNC109 - the client timeout of the one POST
) -> Started:
    try:
        key = await secrets.get(playbook.key_secret)
    except SecretUnavailable as exc:
        return Started(False, f"signing key unavailable: {exc}")
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(key.reveal(), stamp, body),
        "Idempotency-Key": payload["run_id"],
    }
    try:
        async with http.post(
            playbook.url,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as response:
            raw = await read_capped(response, MAX_ANSWER)
            status = response.status
    except TimeoutError:
        return Started(False, f"no answer from the SOAR within {timeout:g}s; not retried")
    except aiohttp.ClientConnectorError as exc:
        return Started(False, f"cannot connect to the SOAR: {exc.os_error}")
    except aiohttp.ClientError as exc:
        return Started(False, f"no answer from the SOAR ({type(exc).__name__}); not retried")
    said = _said(json_or_none(raw) if len(raw) <= MAX_ANSWER else None)
    if 200 <= status < 300:
        return Started(True, f"SOAR accepted it ({status})" + (f": {said}" if said else ""))
    return Started(False, f"SOAR answered {status}" + (f": {said}" if said else ""))


def _said(body: Any) -> str:
    detail = body.get("detail") if isinstance(body, dict) else None
    return " ".join(detail.split())[:300] if isinstance(detail, str) else ""
