"""HTTP fetching: polite, bounded and safe.

framewatch fetches every byte itself so that it, not a parser library, decides
timeouts, sizes and which addresses are reachable. Redirects are followed by hand
so that each hop is checked against the private-network rule.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import socket
import time
import urllib.robotparser
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from framewatch.config import CrawlSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """A URL that could not be fetched; the message says why in plain words."""


class RefusedAddress(FetchError):
    """The URL resolves to an address framewatch will not contact by default."""


class Disallowed(FetchError):
    """robots.txt disallows this URL for our User-Agent."""


@dataclass
class Response:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    elapsed_s: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def _forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass
class _Host:
    sem: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_request: float = 0.0


class Fetcher:
    """An async HTTP client with per-host politeness; use as ``async with``."""

    def __init__(self, settings: CrawlSettings, allow_private_networks: bool = False):
        self.settings = settings
        self.allow_private = allow_private_networks
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._addr_ok: dict[str, str | None] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(s.timeout_s),
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=s.concurrency),
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    # -- safety ---------------------------------------------------------------
    async def check_url(self, url: str) -> None:
        """Raise unless the URL is http(s) and (by default) resolves to a public address."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not an http(s) URL: {url}")
        host = parts.hostname
        if self.allow_private or host in self.settings.allow_hosts:
            return
        if host not in self._addr_ok:
            self._addr_ok[host] = await self._resolve_refusal(host, parts.port)
        reason = self._addr_ok[host]
        if reason:
            raise RefusedAddress(
                f"refused {url}: {host} resolves to {reason} "
                "(set allow_private_networks = true to allow it)"
            )

    async def _resolve_refusal(self, host: str, port: int | None) -> str | None:
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
            addrs = [ip]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise FetchError(f"cannot resolve host {host}: {exc.strerror}") from exc
            addrs = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        for ip in addrs:
            if _forbidden_ip(ip):
                return f"the non-public address {ip}"
        return None

    # -- robots.txt -----------------------------------------------------------
    async def allowed_by_robots(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._robots:
                self._robots[origin] = await self._load_robots(origin)
        return self._robots[origin].can_fetch(self.settings.user_agent, url)

    async def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser:
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            resp = await self.get(origin + "/robots.txt", retries=0, max_bytes=500_000)
        except FetchError:
            parser.parse([])  # unreachable robots.txt: RFC 9309 says assume allowed
            return parser
        if resp.status >= 500:
            parser.disallow_all = True  # server error: RFC 9309 says assume disallowed
        elif resp.status >= 400:
            parser.allow_all = True
        else:
            parser.parse(resp.body.decode("utf-8", "replace").splitlines())
        return parser

    # -- fetching -------------------------------------------------------------
    def _host(self, url: str) -> _Host:
        host = urlsplit(url).netloc.lower()
        if host not in self._hosts:
            self._hosts[host] = _Host(asyncio.Semaphore(self.settings.per_host_concurrency))
        return self._hosts[host]

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        robots: bool = False,
        retries: int | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """GET with redirects, retries and limits; raises FetchError with a reason."""
        s = self.settings
        retries = s.retries if retries is None else retries
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            resp = await self._get_following_redirects(url, headers, robots, max_bytes)
            if resp.status not in RETRY_STATUSES or attempt >= retries:
                return resp
            wait = parse_retry_after(resp.headers.get("retry-after"))
            if wait is None:
                wait = s.backoff_s * (2**attempt)
            if wait > s.max_retry_after_s:
                raise FetchError(
                    f"{url}: HTTP {resp.status}, server asks to retry after {wait:.0f}s "
                    f"(more than max_retry_after_s={s.max_retry_after_s:.0f})"
                )
            log.info("HTTP %s from %s; retrying in %.1fs", resp.status, url, wait)
            await asyncio.sleep(wait)
            attempt += 1

    async def _get_following_redirects(
        self, url: str, headers: dict[str, str], robots: bool, max_bytes: int | None
    ) -> Response:
        current = url
        for _ in range(self.settings.max_redirects + 1):
            await self.check_url(current)
            if robots and self.settings.obey_robots and not await self.allowed_by_robots(current):
                raise Disallowed(f"robots.txt disallows {current}")
            resp = await self._get_once(current, headers, max_bytes)
            if resp.status in (301, 302, 303, 307, 308) and "location" in resp.headers:
                current = urljoin(current, resp.headers["location"])
                continue
            resp.url = url
            return resp
        raise FetchError(f"{url}: more than {self.settings.max_redirects} redirects")

    async def _get_once(self, url: str, headers: dict[str, str], max_bytes: int | None) -> Response:
        assert self._client is not None, "use Fetcher as an async context manager"
        limit = max_bytes or self.settings.max_bytes
        host = self._host(url)
        async with self._global, host.sem:
            async with host.lock:
                wait = host.last_request + self.settings.per_host_delay_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.last_request = time.monotonic()
            start = time.monotonic()
            try:
                return await asyncio.wait_for(
                    self._stream(url, headers, limit), timeout=self.settings.timeout_s * 2
                )
            except (asyncio.TimeoutError, httpx.TimeoutException) as exc:
                raise FetchError(f"{url}: timed out after {time.monotonic() - start:.1f}s") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc

    async def _stream(self, url: str, headers: dict[str, str], limit: int) -> Response:
        assert self._client is not None
        start = time.monotonic()
        async with self._client.stream("GET", url, headers=headers) as r:
            hdrs = {k.lower(): v for k, v in r.headers.items()}
            declared = hdrs.get("content-length", "")
            if declared.isdigit() and int(declared) > limit and "content-encoding" not in hdrs:
                raise FetchError(
                    f"{url}: body of {int(declared)} bytes exceeds the {limit}-byte limit"
                )
            chunks: list[bytes] = []
            size = 0
            if r.status_code not in (301, 302, 303, 307, 308, 304):
                # aiter_bytes yields decompressed bytes: a gzip bomb is cut off here.
                async for chunk in r.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise FetchError(f"{url}: body exceeds the {limit}-byte limit")
                    chunks.append(chunk)
            return Response(
                url=url,
                final_url=str(r.url),
                status=r.status_code,
                headers=hdrs,
                body=b"".join(chunks),
                elapsed_s=time.monotonic() - start,
            )
