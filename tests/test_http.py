"""The fetch layer against a real local server misbehaving on purpose."""
import asyncio
import time
from datetime import datetime, timezone

import pytest

from mirror.scenario_types import Scenario
from mirror.server import MirrorServer
from signal_desk.http import FetchError, Fetcher, FetchPolicy, retry_after_seconds

OK_PATH = "/kalshi/trade-api/v2/markets"


@pytest.fixture(scope="module")
def mirror():
    t = datetime(2026, 6, 28, tzinfo=timezone.utc)
    with MirrorServer(Scenario("empty", t, t, [], [], [], [])) as m:
        yield m


@pytest.fixture(autouse=True)
def _clear(mirror):
    mirror.clear_faults()
    yield
    mirror.clear_faults()


def get(url, **policy):
    async def go():
        async with Fetcher(FetchPolicy.for_tests(**policy)) as f:
            return await f.get(url)
    return asyncio.run(go())


def test_ok(mirror):
    r = get(mirror.base_url + OK_PATH)
    assert r.status == 200 and r.attempts == 1 and r.body.startswith(b"{")


@pytest.mark.parametrize("code", [500, 502, 503])
def test_5xx_is_retried_then_succeeds(mirror, code):
    mirror.add_fault(OK_PATH, f"http-{code}", count=2)
    r = get(mirror.base_url + OK_PATH, max_attempts=3)
    assert r.status == 200 and r.attempts == 3


def test_5xx_gives_up_after_attempt_cap(mirror):
    mirror.add_fault(OK_PATH, "http-503")
    before = mirror.request_count(OK_PATH)
    with pytest.raises(FetchError, match="HTTP 503 after 3 attempts"):
        get(mirror.base_url + OK_PATH, max_attempts=3)
    assert mirror.request_count(OK_PATH) - before == 3


def test_429_honours_retry_after(mirror):
    mirror.add_fault(OK_PATH, "http-429", count=1, retry_after="1")
    t0 = time.monotonic()
    r = get(mirror.base_url + OK_PATH, max_attempts=2)
    assert r.attempts == 2 and time.monotonic() - t0 >= 1.0


def test_429_without_retry_after_backs_off(mirror):
    mirror.add_fault(OK_PATH, "http-429", count=1)
    r = get(mirror.base_url + OK_PATH, max_attempts=2, backoff_base_s=0.05, backoff_cap_s=0.05)
    assert r.attempts == 2


def test_retry_after_beyond_budget_fails_fast(mirror):
    mirror.add_fault(OK_PATH, "http-429", retry_after="3600")
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="Retry-After 3600s exceeds the time budget"):
        get(mirror.base_url + OK_PATH, max_attempts=3)
    assert time.monotonic() - t0 < 2


def test_404_is_not_retried(mirror):
    before = mirror.request_count("/nope")
    with pytest.raises(FetchError, match="HTTP 404") as e:
        get(mirror.base_url + "/nope", max_attempts=4)
    assert not e.value.transient and mirror.request_count("/nope") - before == 1


def test_connection_reset_is_transient_and_retried(mirror):
    mirror.add_fault(OK_PATH, "reset", count=1)
    assert get(mirror.base_url + OK_PATH, max_attempts=2).attempts == 2


def test_timeout(mirror):
    mirror.add_fault(OK_PATH, "slow", delay_s=2)
    with pytest.raises(FetchError, match="ReadTimeout") as e:
        get(mirror.base_url + OK_PATH, timeout_s=0.5)
    assert e.value.transient


def test_slow_drip_is_bounded(mirror):
    mirror.add_fault(OK_PATH, "drip", delay_s=3)
    with pytest.raises(FetchError, match="not complete within"):
        get(mirror.base_url + OK_PATH, timeout_s=0.5)


def test_size_cap(mirror):
    mirror.add_fault(OK_PATH, "huge")
    with pytest.raises(FetchError, match="byte cap"):
        get(mirror.base_url + OK_PATH, max_bytes=1024 * 1024)


def test_gzip_bomb_is_capped_on_decompressed_size(mirror):
    mirror.add_fault(OK_PATH, "gzip-bomb")
    with pytest.raises(FetchError, match="byte cap"):
        get(mirror.base_url + OK_PATH, max_bytes=1024 * 1024)


def test_redirect_to_other_host_not_followed(mirror):
    mirror.add_fault(OK_PATH, "redirect-offhost")
    with pytest.raises(FetchError, match="redirect to another host not followed"):
        get(mirror.base_url + OK_PATH)


def test_non_http_url_refused():
    with pytest.raises(FetchError, match="only http and https"):
        get("file:///etc/passwd")


def test_retry_after_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0) == pytest.approx(0.0)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("soon") is None
