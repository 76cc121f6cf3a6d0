"""The one retry policy: Retry-After as seconds or an HTTP date, the statuses worth another try,
capped and jittered backoff, and the retry loop the HTTP clients share."""

from __future__ import annotations

import email.utils
import math
import time

import aiohttp
import pytest

from bot.kernel.retry import (
    RETRY_STATUSES,
    Answer,
    RetryPolicy,
    Unanswered,
    WaitTooLong,
    parse_retry_after,
    with_retries,
)

NOW = 1_700_000_000.0


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


# --- Retry-After ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0.5", 0.5), (" 30 ", 30.0), ("0", 0.0), ("120", 120.0)],
)
def test_retry_after_in_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date_is_the_time_until_it():
    assert parse_retry_after(http_date(NOW + 90), now=NOW) == pytest.approx(90.0)
    assert parse_retry_after(http_date(time.time() + 3600)) > 3500


def test_an_http_date_without_a_zone_name_is_utc():
    # RFC 5322's "-0000": the time is UTC, whatever the local zone.
    header = email.utils.formatdate(NOW + 60)
    assert header.endswith("-0000")
    assert parse_retry_after(header, now=NOW) == pytest.approx(60.0)


@pytest.mark.parametrize("header", ["Wed, 21 Oct 2015 07:28:00 GMT", "-3", "-0.5"])
def test_a_moment_already_past_means_now(header):
    assert parse_retry_after(header) == 0.0


@pytest.mark.parametrize(
    "header",
    [None, "", "   ", "soon", "nan", "NaN", "Wed, 99 Foo 2015 07:28:00 GMT", "12 parsecs"],
)
def test_garbage_is_no_answer(header):
    assert parse_retry_after(header) is None


def test_an_endless_retry_after_stays_over_any_limit():
    assert parse_retry_after("1e999") == math.inf
    assert RetryPolicy(max_wait=30).delay(1, "1e999") == 30


# --- statuses and attempts ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 412, 502, 503, 504])
def test_throttling_and_gateway_answers_are_retried(status):
    assert status in RETRY_STATUSES
    assert RetryPolicy().should_retry(status, 1)


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 409, 413, 500, 501])
def test_other_answers_are_final(status):
    assert not RetryPolicy().should_retry(status, 1)


def test_no_answer_at_all_is_retried():
    assert RetryPolicy().should_retry(None, 1)


def test_the_last_attempt_is_final_whatever_the_answer():
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(503, n) for n in (1, 2, 3, 4)] == [True, True, False, False]
    assert not policy.should_retry(None, 3)
    assert not RetryPolicy(max_attempts=1).should_retry(429, 1)


def test_a_client_may_choose_its_statuses():
    only_429 = RetryPolicy(statuses=frozenset({429}))
    assert only_429.should_retry(429, 1)
    assert not only_429.should_retry(503, 1)


# --- waits ---------------------------------------------------------------------------------------


def test_retry_after_is_the_wait_up_to_the_cap():
    policy = RetryPolicy(max_wait=60)
    assert policy.delay(1, "7") == 7.0
    assert policy.delay(4, "0") == 0.0
    assert policy.delay(1, "3600") == 60
    assert policy.delay(1, http_date(time.time() + 7200)) == 60
    assert policy.delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_backoff_is_jittered_below_a_doubling_ceiling(attempt):
    policy = RetryPolicy(max_wait=60, first_backoff=1.0)
    ceiling = 2.0 ** (attempt - 1)
    waits = [policy.delay(attempt, None) for _ in range(400)]
    assert all(0.0 <= wait <= ceiling for wait in waits)
    # Spread over the whole range, so instances throttled together come back apart.
    assert min(waits) < ceiling / 4 and max(waits) > ceiling * 3 / 4


@pytest.mark.parametrize("header", [None, "", "soon"])
def test_without_a_readable_retry_after_the_wait_is_backoff(header):
    policy = RetryPolicy(first_backoff=0.5)
    assert all(0.0 <= policy.delay(1, header) <= 0.5 for _ in range(100))


def test_backoff_never_exceeds_the_cap():
    policy = RetryPolicy(max_wait=5.0)
    assert all(policy.backoff(attempt) <= 5.0 for attempt in (6, 10, 64, 10_000))


# --- the retry loop ------------------------------------------------------------------------------


class Script:
    """Stands in for the network: answers (or errors) in order, and the waits asked for."""

    def __init__(self, *steps: Answer | Exception) -> None:
        self.steps = list(steps)
        self.sent = 0
        self.waits: list[float] = []
        self.unauthorized = 0

    async def send(self) -> Answer:
        self.sent += 1
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def refresh(self) -> None:
        self.unauthorized += 1

    async def run(self, policy: RetryPolicy) -> Answer:
        return await with_retries(
            policy, self.send, what="test", on_unauthorized=self.refresh, sleep=self.sleep
        )


async def test_throttled_then_answered():
    script = Script(Answer(429, "", "2"), Answer(503, "", "0"), Answer(200, "ok"))
    answer = await script.run(RetryPolicy())
    assert (answer.status, answer.text, script.sent, script.waits) == (200, "ok", 3, [2.0, 0.0])


async def test_the_last_retryable_answer_is_returned_when_attempts_run_out():
    script = Script(*[Answer(429, "", "0")] * 3)
    answer = await script.run(RetryPolicy(max_attempts=3))
    assert answer.status == 429 and script.sent == 3 and len(script.waits) == 2


async def test_a_final_answer_is_not_retried():
    script = Script(Answer(404, "gone"), Answer(200, "never asked"))
    assert (await script.run(RetryPolicy())).status == 404
    assert script.sent == 1 and script.waits == []


async def test_a_401_refreshes_the_token_once():
    script = Script(Answer(401, ""), Answer(200, "ok"))
    assert (await script.run(RetryPolicy())).status == 200
    assert script.unauthorized == 1 and script.waits == []
    again = Script(Answer(401, ""), Answer(401, ""), Answer(200, "never asked"))
    assert (await again.run(RetryPolicy())).status == 401
    assert again.unauthorized == 1 and again.sent == 2


async def test_network_errors_are_retried_then_unanswered():
    script = Script(TimeoutError(), aiohttp.ClientConnectionError(), Answer(200, "ok"))
    assert (await script.run(RetryPolicy())).status == 200
    assert len(script.waits) == 2 and all(0.0 <= wait <= 2.0 for wait in script.waits)
    failing = Script(TimeoutError(), aiohttp.ServerDisconnectedError())
    with pytest.raises(Unanswered) as caught:
        await failing.run(RetryPolicy(max_attempts=2))
    assert caught.value.reason == "ServerDisconnectedError"


async def test_unanswered_says_whether_any_try_may_have_been_sent():
    refused = aiohttp.ClientConnectorError(None, OSError(111, "refused"))
    never = Script(refused, refused)
    with pytest.raises(Unanswered) as caught:
        await never.run(RetryPolicy(max_attempts=2))
    assert not caught.value.maybe_sent and caught.value.error is refused
    maybe = Script(TimeoutError(), refused)
    with pytest.raises(Unanswered) as caught:
        await maybe.run(RetryPolicy(max_attempts=2))
    assert caught.value.maybe_sent and caught.value.reason == "ClientConnectorError"


async def test_a_policy_that_refuses_long_waits_stops_at_one():
    policy = RetryPolicy(max_wait=30, refuse_long_waits=True)
    script = Script(Answer(429, "", "5"), Answer(429, "", "120"), Answer(200, "never asked"))
    with pytest.raises(WaitTooLong) as caught:
        await script.run(policy)
    assert (caught.value.status, caught.value.seconds, script.sent) == (429, 120.0, 2)
    assert script.waits == [5.0]
    last = Script(Answer(429, "", "120"))
    assert (await last.run(RetryPolicy(max_attempts=1, refuse_long_waits=True))).status == 429


async def test_other_errors_are_not_swallowed():
    script = Script(ValueError("a bug"), Answer(200, "never asked"))
    with pytest.raises(ValueError, match="a bug"):
        await script.run(RetryPolicy())
