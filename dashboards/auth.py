"""The dashboard's sign-in: an ASGI gate in front of every route Streamlit serves.

Streamlit's own login (``st.login``) speaks OpenID Connect only, and a Streamlit
script cannot set an HttpOnly cookie. So the dashboard runs as Streamlit's ASGI app
(``st.App``) with this middleware first in line: every HTTP request and every
websocket (``/_stcore/stream``, which carries all page content), static file, media
file and upload goes through it. Without a valid session a visitor gets the sign-in
form (or a 401/403, or a refused websocket) and nothing else; Streamlit never runs.

Sessions are itsdangerous-signed cookies (HttpOnly, SameSite=Lax, Secure over https)
naming the user and a fingerprint of their password hash, so removing a user or
changing their password ends their sessions. Failed sign-ins are logged and slowed
down per address (``LoginLimiter``). The gate tells the script who is visiting in
``X-Framewatch-User`` / ``X-Framewatch-Admin`` request headers that it sets itself
(any sent by a client are dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import ipaddress
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

from framewatch.users import Login, dummy_hash, load_credentials, verify

log = logging.getLogger("framewatch.dashboard.auth")

COOKIE = "framewatch_session"
LOGIN, LOGOUT = "/_framewatch/login", "/_framewatch/logout"
HEALTH = "/_stcore/health"  # says "ok" and nothing of the store: service monitors need it
USER_HEADER, ADMIN_HEADER = b"x-framewatch-user", b"x-framewatch-admin"
_MAX_FORM = 8192
_URL_SAFE = "/?&=%#:;,+@!$'()*~-._"


@dataclass(frozen=True)
class Visitor:
    name: str | None  # None when the dashboard runs without logins (loopback only)
    admin: bool


def visitor(headers) -> Visitor:
    """Who is visiting, for the Streamlit script (``st.context.headers``)."""
    if os.environ.get("FRAMEWATCH_AUTH", "none") == "none":
        return Visitor(None, admin=True)
    name = headers.get(USER_HEADER.decode()) or None
    return Visitor(name, admin=name is not None and headers.get(ADMIN_HEADER.decode()) == "1")


class LoginLimiter:
    """Per-address brake on guessing: after ``free`` failures, each try waits longer.

    The n-th failure beyond ``free`` locks the address for 2**n seconds (at most
    ``max_delay_s``); a try during the lock is refused without checking the password.
    Failures older than ``window_s`` are forgotten. A success forgives only the failures
    for that same user name: someone who mistyped their own password is not slowed, but
    signing in with one's own login does not buy fresh guesses at another's.
    """

    def __init__(self, free: int = 5, window_s: float = 900.0, max_delay_s: float = 300.0,
                 clock=time.monotonic, max_addresses: int = 10_000) -> None:  # fmt: skip
        self.free, self.window_s, self.max_delay_s = free, window_s, max_delay_s
        self.clock, self.max_addresses = clock, max_addresses
        # address -> (failures by lower-case user name, time of the last failure)
        self._fails: OrderedDict[str, tuple[dict[str, int], float]] = OrderedDict()

    def _recent(self, addr: str) -> tuple[dict[str, int], float]:
        names, last = self._fails.get(addr, ({}, 0.0))
        if names and self.clock() - last > self.window_s:
            del self._fails[addr]
            return {}, 0.0
        return names, last

    def wait_s(self, addr: str) -> float:
        """Seconds this address must still wait before its next try (0: go ahead)."""
        names, last = self._recent(addr)
        count = sum(names.values())
        if count < self.free:
            return 0.0
        delay = min(2.0 ** (count - self.free), self.max_delay_s)
        return max(0.0, last + delay - self.clock())

    def failed(self, addr: str, name: str = "") -> int:
        names, _ = self._recent(addr)
        names = dict(names)
        names[name.lower()] = names.get(name.lower(), 0) + 1
        self._fails.pop(addr, None)
        self._fails[addr] = (names, self.clock())
        while len(self._fails) > self.max_addresses:
            self._fails.popitem(last=False)
        return sum(names.values())

    def succeeded(self, addr: str, name: str = "") -> None:
        names, last = self._recent(addr)
        rest = {n: c for n, c in names.items() if n != name.lower()}
        if rest:
            self._fails[addr] = (rest, last)
        else:
            self._fails.pop(addr, None)


def _fingerprint(login: Login) -> str:
    return hashlib.sha256(login.password_hash.encode()).hexdigest()[:16]


def _networks(values: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def _in(addr: str | None, nets) -> bool:
    try:
        ip = ipaddress.ip_address(addr or "")
    except ValueError:
        return False
    return any(ip in n for n in nets)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never //other.host or a scheme (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 33 or ord(c) == 127 for c in target):
        return "/"  # browsers drop tabs and newlines: "/\t/evil.example" would be "//evil..."
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


class AuthGate:
    """ASGI middleware: sign-in form, sessions, and refusal of everything else."""

    def __init__(self, app, *, mode: str, snapshot: str, key: str, session_hours: float = 12.0,
                 trusted_proxies: tuple[str, ...] = (), user_header: str = "X-Forwarded-User",
                 limiter: LoginLimiter | None = None) -> None:  # fmt: skip
        if mode not in ("password", "header"):
            raise ValueError(f"unknown auth mode {mode!r}")
        self.app, self.mode = app, mode
        self.snapshot = Path(snapshot)
        self.max_age = int(session_hours * 3600)
        self.signer = URLSafeTimedSerializer(key, salt="framewatch-session")
        self.proxies = _networks(list(trusted_proxies))
        self.user_header = user_header.lower().encode("latin-1")
        self.limiter = limiter or LoginLimiter()
        self._logins: dict[str, Login] = {}
        self._logins_stamp: float | None = None

    # -- who is this -------------------------------------------------------------
    def logins(self) -> dict[str, Login]:
        """The published logins, re-read whenever the file changes (users add/remove)."""
        try:
            stamp = os.stat(str(self.snapshot) + ".logins").st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp != self._logins_stamp:
            self._logins, self._logins_stamp = load_credentials(self.snapshot), stamp
        return self._logins

    def _address(self, scope, headers: dict[bytes, bytes]) -> str:
        """The visitor's address: a trusted proxy's X-Forwarded-For, else the peer."""
        peer = (scope.get("client") or ("unknown", 0))[0]
        forwarded = headers.get(b"x-forwarded-for")
        if forwarded and _in(peer, self.proxies):
            return forwarded.decode("latin-1").split(",")[-1].strip() or peer
        return peer

    def identify(self, scope, headers: dict[bytes, bytes]) -> Visitor | None:
        if self.mode == "header":
            peer = (scope.get("client") or ("", 0))[0]
            name = headers.get(self.user_header, b"").decode("utf-8", "replace").strip()
            if not name or not _in(peer, self.proxies):
                return None
            login = self.logins().get(name.lower())
            return Visitor(name, admin=bool(login and login.admin))
        token = _cookie(headers.get(b"cookie", b""))
        if not token:
            return None
        try:
            data = self.signer.loads(token, max_age=self.max_age)
            login = self.logins().get(str(data["u"]).lower())
        except (BadSignature, KeyError, TypeError):
            return None
        if login is None or data.get("f") != _fingerprint(login):
            return None  # removed, or the password changed since
        return Visitor(login.name, login.admin)

    # -- ASGI --------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        raw = [(k.lower(), v) for k, v in scope.get("headers", [])]
        raw = [(k, v) for k, v in raw if k not in (USER_HEADER, ADMIN_HEADER)]
        headers = dict(raw)
        path = scope.get("path", "")
        if scope["type"] == "http" and path == LOGIN and self.mode == "password":
            return await self._login(scope, receive, send, headers)
        if scope["type"] == "http" and path == LOGOUT:
            return await _respond(send, 303, b"", [(b"location", LOGIN.encode()),
                                                   (b"set-cookie", self._cookie(scope, headers, "", 0))])  # fmt: skip
        who = self.identify(scope, headers)
        if self.mode == "header" and sum(k == self.user_header for k, _ in raw) > 1:
            who = None  # one from the client, one from the proxy: believe neither
        if scope["type"] == "http" and path == HEALTH:
            who = who or Visitor(None, admin=False)
        elif scope["type"] == "websocket" and not self._same_origin(scope, headers):
            who = None  # a page of another site opening our websocket with our cookie
        if who is None:
            return await self._refuse(scope, receive, send, headers)
        if who.name is not None:
            raw += [(USER_HEADER, who.name.encode("utf-8")),
                    (ADMIN_HEADER, b"1" if who.admin else b"0")]  # fmt: skip
        if scope["type"] == "websocket":
            receive = self._recheck(scope, headers, receive, send)
        await self.app({**scope, "headers": raw}, receive, send)

    def _recheck(self, scope, headers, receive, send):
        """A page stays open for hours: every message on its websocket needs a session
        that is still valid (not expired, user not removed), or the socket is closed."""

        async def checked():
            msg = await receive()
            if msg["type"] == "websocket.receive" and self.identify(scope, headers) is None:
                log.info(
                    "session ended: closing a websocket from %s", self._address(scope, headers)
                )
                with contextlib.suppress(Exception):
                    await send({"type": "websocket.close", "code": 1008})
                return {"type": "websocket.disconnect", "code": 1008}
            return msg

        return checked

    async def _refuse(self, scope, receive, send, headers) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        if self.mode == "header":
            body = _page("Sign in through your organisation's proxy",
                         "<p>This dashboard accepts visitors only through its reverse proxy.</p>")  # fmt: skip
            return await _respond(send, 403, body, _HTML)
        accept = headers.get(b"accept", b"").decode("latin-1")
        if scope.get("method") == "GET" and ("text/html" in accept or not accept):
            target = scope.get("path", "/")
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            return await _respond(
                send, 303, b"", [(b"location", f"{LOGIN}?next={quote(target)}".encode())]
            )
        await _respond(send, 401, b"sign in first\n", [(b"content-type", b"text/plain")])

    async def _login(self, scope, receive, send, headers) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        nxt = _safe_next((query.get("next") or ["/"])[0])
        if scope.get("method") != "POST":
            return await _respond(send, 200, _form(nxt), _HTML)
        if not self._same_origin(scope, headers):
            return await _respond(
                send, 403, _form(nxt, "Refused: the form came from another site."), _HTML
            )
        body = await _read_body(receive)
        form = parse_qs(body.decode("utf-8", "replace")) if body is not None else {}
        name = (form.get("user") or [""])[0].strip()
        password = (form.get("password") or [""])[0]
        nxt = _safe_next((form.get("next") or [nxt])[0])
        addr = self._address(scope, headers)
        wait = self.limiter.wait_s(addr)
        if wait > 0:
            log.warning("sign-in refused for %r from %s: too many failures, %.0fs to wait",
                        name, addr, wait)  # fmt: skip
            msg = f"Too many failed sign-ins from your address. Try again in {int(wait) + 1} s."
            return await _respond(send, 429, _form(nxt, msg, name),
                                  [*_HTML, (b"retry-after", str(int(wait) + 1).encode())])  # fmt: skip
        login = self.logins().get(name.lower())
        ok = await asyncio.to_thread(
            verify, login.password_hash if login else dummy_hash(), password
        )
        if not (ok and login is not None):
            count = self.limiter.failed(addr, name)
            log.warning("sign-in failed for %r from %s (%d recent failures)", name, addr, count)
            return await _respond(
                send, 401, _form(nxt, "Wrong user name or password.", name), _HTML
            )
        self.limiter.succeeded(addr, login.name)
        log.info("%s signed in from %s", login.name, addr)
        token = self.signer.dumps({"u": login.name, "f": _fingerprint(login)})
        await _respond(send, 303, b"", [(b"location", quote(nxt, safe=_URL_SAFE).encode()),
                                        (b"set-cookie", self._cookie(scope, headers, token, self.max_age))])  # fmt: skip

    def _same_origin(self, scope, headers: dict[bytes, bytes]) -> bool:
        """No Origin (no browser's cross-site request), or the Origin is this very site."""
        origin = headers.get(b"origin")
        if origin is None:
            return True
        hosts = {headers.get(b"host", b"")}
        if _in((scope.get("client") or ("", 0))[0], self.proxies):
            hosts.add(headers.get(b"x-forwarded-host", b""))
        netloc = urlsplit(origin.decode("latin-1")).netloc.lower()
        return any(netloc == h.decode("latin-1").lower() for h in hosts if h)

    def _cookie(self, scope, headers, value: str, max_age: int) -> bytes:
        https = scope.get("scheme") in ("https", "wss") or (
            _in((scope.get("client") or ("", 0))[0], self.proxies)
            and headers.get(b"x-forwarded-proto", b"").lower() == b"https"
        )
        parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
        return "; ".join(parts + (["Secure"] if https else [])).encode("latin-1")


def _cookie(raw: bytes) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


async def _read_body(receive) -> bytes | None:
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if len(body) > _MAX_FORM:
            return None
        if not msg.get("more_body"):
            return body


_HTML = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
]  # fmt: skip


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _page(title: str, inner: str) -> bytes:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>framewatch: {html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;background:#f6f6f8;margin:0}}
main{{max-width:22rem;margin:12vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;box-sizing:border-box}}
button{{margin-top:1.2rem;padding:.5rem 1.2rem}}.error{{color:#a00}}</style></head>
<body><main><h1>framewatch</h1>{inner}</main></body></html>""".encode()


def _form(nxt: str, error: str = "", name: str = "") -> bytes:
    err = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _page(
        "sign in",
        f"""<h2>Sign in</h2>{err}
<form method="post" action="{LOGIN}"><input type="hidden" name="next" value="{html.escape(nxt)}">
<label for="user">User name</label><input id="user" name="user" autocomplete="username" value="{html.escape(name)}" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>""",
    )
