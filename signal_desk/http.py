"""The thin HTTP layer every source shares (and the signal alerts' webhooks, `post_json`): polite,
bounded, and honest about failure.

Per-host concurrency and spacing, timeouts, a size cap (also on decompressed bodies), no redirects
to another host, and retries with capped exponential backoff and full jitter on transient errors
only (429 honouring Retry-After, 5xx, connect/read failures). Everything else fails at once.

Credentials: a URL may carry `${SECRET}` placeholders, filled in only for the request itself. Whatever
leaves this module (a response's URL, headers and body, an error's URL and reason) has gone through
`redact_secrets`, so a redirect target or an error message that repeats the real URL stores the
placeholder; and a request carrying a credential never follows a redirect to another host or to http.
"""
from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import httpx

from signal_desk.clock import utcnow
from signal_desk.config import expand_secrets, redact_secrets, redact_secrets_bytes, redact_secrets_in

USER_AGENT = "signal-desk/0.1 (+news-signal pipeline; polite scraper of public previews)"
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    timeout_s: float = 20.0
    max_attempts: int = 4
    max_total_s: float = 90.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 30.0
    per_host_concurrency: int = 4
    per_host_interval_s: float = 0.25
    max_bytes: int = 8 * 1024 * 1024
    max_redirects: int = 3
    user_agent: str = USER_AGENT

    @classmethod
    def for_tests(cls, **overrides) -> "FetchPolicy":
        """No waiting between attempts, one attempt unless asked; for tests and the local mirror."""
        base = dict(max_attempts=1, backoff_base_s=0.0, backoff_cap_s=0.0, per_host_interval_s=0.0,
                    timeout_s=5.0, max_total_s=15.0, per_host_concurrency=16)
        base.update(overrides)
        return cls(**base)


class FetchError(Exception):
    def __init__(self, url: str, reason: str, *, status: int | None = None, transient: bool = False,
                 attempts: int = 1, body: bytes = b""):
        # Redacted here, once: the URL and reason may repeat the filled-in request URL.
        self.url, self.reason, self.status, self.transient, self.body = (
            redact_secrets(url), redact_secrets(reason), status, transient, redact_secrets_bytes(body))
        self.attempts = attempts

    @property
    def attempts(self) -> int:
        return self._attempts

    @attempts.setter
    def attempts(self, value: int) -> None:
        self._attempts = value
        self.args = (f"{self.url}: {self.reason}" + (f" after {value} attempts" if value > 1 else ""),)


@dataclass(slots=True)
class Response:
    url: str
    status: int
    body: bytes
    fetched_at: datetime
    attempts: int = 1
    headers: dict[str, str] = field(default_factory=dict)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def backoff_delay(policy: FetchPolicy, attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt`: the server's Retry-After (within the time
    budget), else capped exponential backoff with full jitter."""
    if retry_after is not None:
        return min(retry_after, policy.max_total_s)
    ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * (2 ** (attempt - 1)))
    return random.uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """What became of one JSON POST (a webhook), over its attempts."""
    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None        # one line, naming the target as the caller described it, never its URL
    permanent: bool = False         # refused (a 4xx other than 408, 425, 429): sending again cannot help
    unknown: bool = False           # the request may have reached the server but its answer was lost


def post_json(url: str, body: bytes, policy: FetchPolicy, *, describe: str) -> PostOutcome:
    """POST a JSON body with the policy's timeouts, retrying what did not reach the server (a refused
    connection, 408, 425, 429 honouring Retry-After, 5xx) with the policy's backoff and time budget. A
    request that may have reached the server without an answer (a read timeout, a dropped connection)
    is not sent again: the same message could arrive twice. Redirects are not followed. `url` is a
    credential for webhooks, so what this returns names `describe` instead."""
    def said(error: Exception) -> str:
        return f"{describe}: {type(error).__name__}: {str(error).replace(url, describe) or 'no detail'}"

    deadline = time.monotonic() + policy.max_total_s
    timeout = httpx.Timeout(policy.timeout_s, connect=min(policy.timeout_s, 10.0))
    headers = {"User-Agent": policy.user_agent, "Content-Type": "application/json"}
    attempt = 0
    with httpx.Client(timeout=timeout, headers=headers, follow_redirects=False) as client:
        while True:
            attempt += 1
            status, retry_after = None, None
            try:
                response = client.post(url, content=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
                error = said(e)               # not connected: nothing was sent
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                return PostOutcome(False, attempt, error=said(e), permanent=True)
            except httpx.HTTPError as e:
                return PostOutcome(False, attempt, error=said(e) + " (the request may have arrived; its answer "
                                                                    "was lost)", unknown=True)
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return PostOutcome(True, attempt, status=status)
                error = f"{describe}: HTTP {status}"
                if status not in TRANSIENT_STATUS:
                    return PostOutcome(False, attempt, status=status, error=error, permanent=True)
                retry_after = retry_after_seconds(response.headers.get("retry-after"))
            if attempt >= policy.max_attempts:
                return PostOutcome(False, attempt, status=status,
                                   error=error + (f" after {attempt} attempts" if attempt > 1 else ""))
            delay = backoff_delay(policy, attempt, retry_after)
            if time.monotonic() + delay > deadline:
                return PostOutcome(False, attempt, status=status, error=f"{error}; retry time budget exhausted")
            time.sleep(delay)


class _HostGate:
    """Bounds concurrent requests to one host and spaces their starts."""

    def __init__(self, concurrency: int, interval_s: float):
        self.sem = asyncio.Semaphore(concurrency)
        self.interval_s = interval_s
        self._next_start = 0.0
        self._lock = asyncio.Lock()

    async def __aenter__(self):
        await self.sem.acquire()
        if self.interval_s > 0:
            async with self._lock:
                wait = self._next_start - time.monotonic()
                self._next_start = max(self._next_start, time.monotonic()) + self.interval_s
            if wait > 0:
                await asyncio.sleep(wait)
        return self

    async def __aexit__(self, *exc):
        self.sem.release()


class Fetcher:
    """An async HTTP client for one run. Use as `async with Fetcher(policy) as f: await f.get(url)`."""

    def __init__(self, policy: FetchPolicy | None = None, *, allowed_redirect_hosts: frozenset[str] = frozenset()):
        self.policy = policy or FetchPolicy()
        self.allowed_redirect_hosts = allowed_redirect_hosts
        self._gates: dict[str, _HostGate] = {}
        self._client: httpx.AsyncClient | None = None
        self.requests_sent = 0

    async def __aenter__(self) -> "Fetcher":
        p = self.policy
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(p.timeout_s, connect=min(p.timeout_s, 10.0)),
            headers={"User-Agent": p.user_agent, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _gate(self, host: str) -> _HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(self.policy.per_host_concurrency, self.policy.per_host_interval_s)
        return gate

    async def get(self, url: str, params: dict | None = None) -> Response:
        p = self.policy
        if params:
            url = str(httpx.URL(url, params=params))
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(url, "refused: only http and https URLs are fetched")
        # `url` may carry ${SECRET} placeholders: requests use the filled-in URL, everything we
        # return or raise (and so store and log) names the placeholder form.
        real_url = expand_secrets(url)
        carries_secret = real_url != url
        deadline = time.monotonic() + p.max_total_s
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = await self._get_following(real_url, carries_secret)
            except FetchError as e:
                if carries_secret:
                    e.url = url
                e.attempts = attempt
                if not e.transient or attempt >= p.max_attempts:
                    raise
                delay = self._backoff(attempt, None)
            else:
                resp.url = url if resp.url == real_url else redact_secrets(resp.url)
                resp.headers = redact_secrets_in(resp.headers)
                if carries_secret:
                    resp.body = redact_secrets_bytes(resp.body)
                if resp.status < 400:
                    resp.attempts = attempt
                    return resp
                transient = resp.status in TRANSIENT_STATUS
                reason = f"HTTP {resp.status}"
                ra = retry_after_seconds(resp.headers.get("retry-after"))
                if not transient or attempt >= p.max_attempts:
                    raise FetchError(url, reason, status=resp.status, transient=transient, attempts=attempt,
                                     body=resp.body)
                delay = self._backoff(attempt, ra)
                if ra is not None and time.monotonic() + ra > deadline:
                    raise FetchError(url, f"{reason}, Retry-After {ra:.0f}s exceeds the time budget",
                                     status=resp.status, transient=True, attempts=attempt)
            if time.monotonic() + delay > deadline:
                raise FetchError(url, "retry time budget exhausted", transient=True, attempts=attempt)
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        return backoff_delay(self.policy, attempt, retry_after)

    async def _get_following(self, url: str, carries_secret: bool = False) -> Response:
        origin_host = urlsplit(url).hostname or ""
        origin_scheme = urlsplit(url).scheme
        for _ in range(self.policy.max_redirects + 1):
            resp = await self._get_once(url)
            if resp.status not in (301, 302, 303, 307, 308):
                return resp
            location = resp.headers.get("location")
            if not location:
                return resp
            target = urljoin(url, location)
            host = urlsplit(target).hostname or ""
            if urlsplit(target).scheme not in ("http", "https"):
                raise FetchError(url, f"redirect to a non-http URL refused: {target}", status=resp.status)
            if host != origin_host and host not in self.allowed_redirect_hosts:
                raise FetchError(url, f"redirect to another host not followed: {target}", status=resp.status)
            # The credential was meant for this host over this scheme only.
            if carries_secret and host != origin_host:
                raise FetchError(url, f"redirect to another host refused, the URL carries a credential: {target}",
                                 status=resp.status)
            if carries_secret and origin_scheme == "https" and urlsplit(target).scheme != "https":
                raise FetchError(url, f"redirect from https to http refused, the URL carries a credential: "
                                      f"{target}", status=resp.status)
            url = target
        raise FetchError(url, "too many redirects")

    async def _get_once(self, url: str) -> Response:
        # httpx's timeouts are per socket operation; a server dripping bytes could hold us forever.
        whole = self.policy.timeout_s * 2
        try:
            return await asyncio.wait_for(self._get_once_unbounded(url), whole)
        except asyncio.TimeoutError:
            raise FetchError(url, f"response not complete within {whole:.0f} s", transient=True) from None

    async def _get_once_unbounded(self, url: str) -> Response:
        assert self._client is not None, "use Fetcher as an async context manager"
        host = urlsplit(url).netloc
        async with self._gate(host):
            self.requests_sent += 1
            try:
                async with self._client.stream("GET", url) as r:
                    chunks, size = [], 0
                    async for chunk in r.aiter_bytes():
                        size += len(chunk)
                        if size > self.policy.max_bytes:
                            raise FetchError(url, f"response exceeds the {self.policy.max_bytes} byte cap",
                                             status=r.status_code)
                        chunks.append(chunk)
                    return Response(url=url, status=r.status_code, body=b"".join(chunks),
                                    fetched_at=utcnow(),
                                    headers={k.lower(): v for k, v in r.headers.items()})
            except FetchError:
                raise
            except (httpx.TimeoutException, httpx.ConnectError, httpx.RemoteProtocolError,
                    httpx.ReadError, httpx.WriteError) as e:
                raise FetchError(url, f"{type(e).__name__}: {str(e) or 'no detail'}", transient=True) from None
            except httpx.DecodingError as e:
                raise FetchError(url, f"undecodable response body: {e}") from None
            except (httpx.HTTPError, httpx.InvalidURL) as e:
                # Anything else httpx raises (a malformed redirect target, a protocol error) may quote
                # the URL: it leaves as a FetchError, so through the redaction, never as itself.
                raise FetchError(url, f"{type(e).__name__}: {str(e) or 'no detail'}") from None
