"""HTTP fetching: polite, bounded and safe.

framewatch fetches every byte itself so that it, not a parser library, decides
timeouts, sizes and which addresses are reachable. Redirects are followed by hand
so that each hop is checked against the private-network rule.

The address rule is enforced where the connection is made: httpx's connection pool
runs on a network backend that resolves the host once, checks every address and
connects to the address it checked. Checking first and letting httpx resolve again
would leave a window in which a hostile DNS server answers the second lookup with a
private address (DNS rebinding). TLS still verifies the host name (httpcore sends
the URL's host as SNI), and the Host header is the URL's host.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import socket
import time
import urllib.robotparser
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from framewatch.config import CrawlSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """A URL that could not be fetched; the message says why in plain words."""


class TransientFetchError(FetchError):
    """A failure that may pass: a timeout, a dropped connection, a DNS hiccup, a busy server."""


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
        not ip.is_global  # also shared (carrier-grade NAT) space, 100.64.0.0/10
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (getaddrinfo)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientFetchError(f"cannot resolve host {host}: {exc.strerror}") from exc
    return list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))


@dataclass
class AddressPolicy:
    """Which addresses framewatch may contact: public ones, unless told otherwise."""

    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()
    resolver: Resolver = system_resolver

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to; raises RefusedAddress when one is not public."""
        host = host.strip("[]")
        try:
            addrs = [str(ipaddress.ip_address(host))]
        except ValueError:
            addrs = await self.resolver(host, port)
        if not addrs:
            raise TransientFetchError(f"cannot resolve host {host}: no address")
        if self.allow_private or host in self.allow_hosts:
            return addrs
        for a in addrs:
            if _forbidden_ip(ipaddress.ip_address(a)):
                raise RefusedAddress(
                    f"{host} resolves to the non-public address {a} "
                    "(set allow_private_networks = true to allow it)"
                )
        return addrs


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to addresses the policy checked."""

    def __init__(self, policy: AddressPolicy):
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for addr in await self.policy.addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    addr, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )  # fmt: skip
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: object, **kwargs: object):
        raise httpcore.ConnectError("framewatch does not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool that uses :class:`_CheckedBackend`.

    httpx 0.28 has no public argument for the network backend (encode/httpx#3180),
    so the pool it builds is replaced by one built with httpcore's public API.
    """

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits):
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(policy),
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

    def __init__(
        self,
        settings: CrawlSettings,
        allow_private_networks: bool = False,
        resolver: Resolver = system_resolver,
    ):
        self.settings = settings
        self.allow_private = allow_private_networks
        self.policy = AddressPolicy(
            allow_private_networks, tuple(settings.allow_hosts), resolver=resolver
        )
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._addr_ok: dict[str, str | None] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._client = httpx.AsyncClient(
            transport=_CheckedTransport(self.policy, httpx.Limits(max_connections=s.concurrency)),
            follow_redirects=False,
            timeout=httpx.Timeout(s.timeout_s),
            headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip, deflate"},
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    # -- safety ---------------------------------------------------------------
    async def check_url(self, url: str) -> None:
        """Raise unless the URL is http(s) and (by default) resolves to a public address.

        An early, cached check for a clear message before robots.txt is asked; the
        connection itself is checked again, on the address it uses (see module doc).
        """
        parts = urlsplit(url)
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if parts.scheme not in ("http", "https") or not host:
            raise FetchError(f"not an http(s) URL: {url}")
        if self.allow_private or host in self.settings.allow_hosts:
            return
        if host not in self._addr_ok:
            try:
                await self.policy.addresses(host, port or 80)
                self._addr_ok[host] = None
            except RefusedAddress as exc:
                self._addr_ok[host] = str(exc)
        reason = self._addr_ok[host]
        if reason:
            raise RefusedAddress(f"refused {url}: {reason}")

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
                raise TransientFetchError(
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
                raise TransientFetchError(
                    f"{url}: timed out after {time.monotonic() - start:.1f}s"
                ) from exc
            except RefusedAddress as exc:
                raise RefusedAddress(f"refused {url}: {exc}") from exc
            except httpx.HTTPError as exc:
                raise TransientFetchError(f"{url}: {type(exc).__name__}: {exc}") from exc

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
