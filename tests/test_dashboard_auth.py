"""Dashboard logins: without a session nothing of the store leaves the server.

A real `framewatch dashboard` process with sign-in, probed with plain HTTP requests,
Streamlit's own websocket protocol and a real headless Chromium.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import duckdb
import pytest
from conftest import launch_chromium, needs_chromium, start_dashboard, stop_dashboard
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.config import Settings
from framewatch.dashboards.auth import LoginLimiter, _safe_next
from framewatch.dashboards.launch import auth_mode
from framewatch.errors import InputError

PASSWORDS = {"alice": "admin-pass-1", "bob": "viewer-pass-1", "carol": "leaving-pass-1"}


# -- rules without a server --------------------------------------------------------------
def test_limiter_slows_an_address_down_and_forgets_it():
    now = [1000.0]
    limiter = LoginLimiter(free=5, window_s=900, max_delay_s=300, clock=lambda: now[0])
    waits = []
    for _ in range(20):  # 20 wrong passwords, as fast as the limiter lets them through
        while (w := limiter.wait_s("203.0.113.9")) > 0:
            waits.append(w)
            now[0] += w
        limiter.failed("203.0.113.9")
    assert limiter.wait_s("198.51.100.1") == 0  # another address is not slowed
    assert len(waits) == 15 and waits == sorted(waits)  # every try after the fifth waited longer
    assert waits[-1] == 300  # ... up to the cap
    assert limiter.wait_s("203.0.113.9") > 0
    now[0] += 901
    assert limiter.wait_s("203.0.113.9") == 0  # forgotten after the window
    limiter.failed("203.0.113.9")
    limiter.succeeded("203.0.113.9")
    assert limiter.wait_s("203.0.113.9") == 0
    # Signing in with one's own login does not buy fresh guesses at someone else's.
    for _ in range(5):
        limiter.failed("203.0.113.9", "alice")
    limiter.succeeded("203.0.113.9", "Bob")
    limiter.failed("203.0.113.9", "ALICE")
    assert limiter.wait_s("203.0.113.9") > 0
    limiter.succeeded("203.0.113.9", "alice")  # alice typo'd her own: forgiven
    assert limiter.wait_s("203.0.113.9") == 0


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/?page=Story&story=3", "/?page=Story&story=3"), ("//evil.example/x", "/"),
     ("/\t/evil.example", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"),
     ("/x\r\nSet-Cookie: a=b", "/"), ("", "/"), ("javascript:alert(1)", "/")],
)  # fmt: skip
def test_after_sign_in_only_a_path_of_this_site(target, expected):
    """No open redirect: the page to return to after signing in stays on this site."""
    assert _safe_next(target) == expected


def test_auth_mode_defaults_and_refusals():
    s = Settings()
    assert auth_mode(s, "127.0.0.1") == "none"
    assert auth_mode(s, "localhost") == "none"
    assert auth_mode(s, "0.0.0.0") == "password"
    assert auth_mode(s, "::") == "password"
    assert auth_mode(s, "dash.example.org") == "password"
    with pytest.raises(InputError, match="only on a loopback address"):
        auth_mode(s, "0.0.0.0", "none")
    s.dashboard.auth = "none"
    with pytest.raises(InputError, match="only on a loopback address"):
        auth_mode(s, "192.0.2.10")
    with pytest.raises(InputError, match="trusted_proxies"):
        auth_mode(s, "0.0.0.0", "header")
    s.dashboard.trusted_proxies = ["10.0.0.0/8"]
    assert auth_mode(s, "0.0.0.0", "header") == "header"


def test_dashboard_refuses_to_expose_the_store(tmp_path, demo_db):
    db = tmp_path / "d.duckdb"
    shutil.copy(demo_db, db)
    run = CliRunner().invoke(
        app, ["--db", str(db), "dashboard", "--host", "0.0.0.0", "--auth", "none"]
    )
    assert run.exit_code == 2 and "only on a loopback address" in run.output
    run = CliRunner().invoke(app, ["--db", str(db), "dashboard", "--host", "0.0.0.0"])
    assert run.exit_code == 2 and "no users yet" in run.output
    assert "Traceback" not in run.output


# -- a real server -----------------------------------------------------------------------
def _secrets(db: Path) -> list[str]:
    """Text of the store a visitor must not see: story labels, headlines, article titles."""
    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    rows = con.execute(
        "SELECT label FROM stories UNION SELECT headline FROM stories UNION SELECT title FROM articles"
    ).fetchall()
    con.close()
    return [r[0] for r in rows if r[0] and len(r[0]) > 8]


def _get(port, path, headers=None, method="GET", body=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data.decode("utf-8", "replace")


def _login(port, user, password, forwarded_for=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    body = urllib.parse.urlencode({"user": user, "password": password, "next": "/"})
    return _get(port, "/_framewatch/login", headers, "POST", body)


def _session(port, user) -> str:
    status, headers, _ = _login(port, user, PASSWORDS[user])
    assert status == 303, status
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    return cookie.split(";")[0]


def _stream(port, headers: dict[str, str]) -> str:
    """Open Streamlit's websocket as its page does, ask for a run, return all it sends."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    text = []
    with connect(
        f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
        additional_headers=headers, open_timeout=30,
    ) as ws:  # fmt: skip
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = ""
        ws.send(msg.SerializeToString())
        deadline = time.time() + 120
        while time.time() < deadline:
            fm = ForwardMsg()
            fm.ParseFromString(ws.recv(timeout=max(1.0, deadline - time.time())))
            text.append(str(fm))
            if fm.WhichOneof("type") == "script_finished":
                break
    return "".join(text)


@pytest.fixture(scope="module")
def guarded(demo_db, tmp_path_factory):
    """The demo store with three users, served with passwords; (port, db, process)."""
    folder = tmp_path_factory.mktemp("auth")
    db = folder / "auth.duckdb"
    shutil.copy(demo_db, db)
    for user, admin in (("alice", True), ("bob", False), ("carol", False)):
        args = ["--db", str(db), "users", "add", user, "--password-stdin"] + (
            ["--admin"] if admin else []
        )
        assert CliRunner().invoke(app, args, input=PASSWORDS[user] + "\n").exit_code == 0
    config = folder / "framewatch.toml"
    config.write_text('[dashboard]\ntrusted_proxies = ["127.0.0.1"]\n', encoding="utf-8")
    proc = start_dashboard(db, None, "--auth", "password", config=config)
    port = proc.port
    yield port, db, proc
    stop_dashboard(proc)


URLS = ["/", "/?page=SQL", "/?page=Story&story=1", "/?page=Overview&embed=true", "/index.html",
        "/_stcore/stream", "/_stcore/host-config", "/_stcore/metrics", "/_stcore/upload_file",
        "/_stcore/message", "/static/js/index.js", "/favicon.png", "/media/x.csv", "/app/static/x",
        "/component/x/index.html", "/~/+/", "/_framewatch/login?next=/%3Fpage%3DStory"]  # fmt: skip


@pytest.mark.slow
def test_no_store_data_without_a_session_over_http(guarded):
    port, db, _proc = guarded
    secrets = _secrets(db)
    assert len(secrets) > 20
    forged = {"X-Framewatch-User": "alice", "X-Framewatch-Admin": "1",
              "Cookie": "framewatch_session=eyJ1IjoiYWxpY2UifQ.forged.sig"}  # fmt: skip
    for path in URLS:
        for headers in ({}, {"Accept": "text/html"}, forged):
            status, hdrs, body = _get(port, path, headers)
            assert not any(s in body for s in secrets), (path, headers)
            if path.startswith("/_framewatch/login"):
                assert status == 200 and 'name="password"' in body
            else:
                assert status in (303, 401), (path, headers, status)
                if status == 303:
                    assert hdrs["location"].startswith("/_framewatch/login?next=")
    assert _get(port, "/_stcore/health")[2].strip() == "ok"
    # The websocket that carries every page refuses a visitor without a session.
    from websockets.exceptions import InvalidStatus

    for headers in ({}, forged):
        with pytest.raises(InvalidStatus, match="403"):
            _stream(port, headers)
    bob = _session(port, "bob")
    with pytest.raises(InvalidStatus, match="403"):  # a page of another site, with the cookie
        _stream(port, {"Cookie": bob, "Origin": "http://evil.example"})
    seen = _stream(port, {"Cookie": bob, "Origin": f"http://127.0.0.1:{port}"})
    assert any(s in seen for s in secrets)  # the same request with a session gets the data


@pytest.mark.slow
def test_sessions_end_when_the_user_is_removed(guarded):
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    port, db, _proc = guarded
    carol = _session(port, "carol")
    assert _get(port, "/", {"Cookie": carol})[0] == 200
    ws = connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                 additional_headers={"Cookie": carol}, open_timeout=30)  # fmt: skip
    rerun = BackMsg()
    rerun.rerun_script.query_string = ""
    rerun.rerun_script.page_script_hash = ""
    with ws:  # a page that stays open ...
        ws.send(rerun.SerializeToString())
        ws.recv(timeout=60)
        assert CliRunner().invoke(app, ["--db", str(db), "users", "remove", "carol"]).exit_code == 0
        ws.send(rerun.SerializeToString())
        with pytest.raises(ConnectionClosed):  # ... is cut off at its next message
            deadline = time.time() + 60
            while time.time() < deadline:
                ws.recv(timeout=60)
    status, headers, _ = _get(port, "/", {"Cookie": carol})
    assert status == 303 and headers["location"].startswith("/_framewatch/login")
    status, _, body = _login(port, "carol", PASSWORDS["carol"], forwarded_for="192.0.2.50")
    assert status == 401 and "Wrong user name or password" in body


@pytest.mark.slow
def test_twenty_wrong_passwords_are_slowed_down_and_logged(guarded):
    port, _db, proc = guarded
    statuses, retry = [], []
    for i in range(20):
        status, headers, body = _login(port, "alice", f"guess-{i}", forwarded_for="203.0.113.7")
        statuses.append(status)
        retry.append(headers.get("retry-after"))
        assert "admin-pass" not in body
    assert statuses == [401] * 5 + [429] * 15
    assert all(r and int(r) >= 1 for r in retry[5:])
    # While slowed down, even the right password is not tried ...
    assert _login(port, "alice", PASSWORDS["alice"], forwarded_for="203.0.113.7")[0] == 429
    # ... and another address is not affected.
    assert _login(port, "alice", PASSWORDS["alice"], forwarded_for="203.0.113.8")[0] == 303
    # A client that is not a trusted proxy cannot pick its address with X-Forwarded-For.
    status = _get(port, "/_framewatch/login", {"X-Forwarded-For": "203.0.113.99",
                  "Content-Type": "application/x-www-form-urlencoded"}, "POST",
                  "user=alice&password=nope", source="127.0.0.2")[0]  # fmt: skip
    assert status == 401
    for _ in range(5):
        _get(port, "/_framewatch/login", {"X-Forwarded-For": "203.0.113.100",
             "Content-Type": "application/x-www-form-urlencoded"}, "POST",
             "user=alice&password=nope", source="127.0.0.2")  # fmt: skip
    assert _login(port, "alice", "nope", forwarded_for="203.0.113.99")[0] == 401  # not locked
    log = _drain(proc)
    assert log.count("sign-in failed for 'alice' from 203.0.113.7") == 5
    assert "too many failures" in log


def _drain(proc: subprocess.Popen) -> str:
    """What the server printed so far, without blocking."""
    os.set_blocking(proc.stdout.fileno(), False)
    chunks = []
    while chunk := proc.stdout.read(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_header_auth_trusts_only_the_proxy(demo_db, tmp_path):
    db = tmp_path / "h.duckdb"
    shutil.copy(demo_db, db)
    config = tmp_path / "framewatch.toml"
    config.write_text('[dashboard]\nauth = "header"\ntrusted_proxies = ["127.0.0.1"]\n'
                      'user_header = "X-Remote-User"\n', encoding="utf-8")  # fmt: skip
    proc = start_dashboard(db, config=config)
    port = proc.port
    try:
        assert _get(port, "/", {"X-Remote-User": "dana"})[0] == 200
        assert _get(port, "/")[0] == 403
        twice = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        twice.putrequest("GET", "/")
        twice.putheader("X-Remote-User", "mallory")
        twice.putheader("X-Remote-User", "dana")
        twice.endheaders()
        assert twice.getresponse().status == 403  # a client's header beside the proxy's
        twice.close()
        status, _, body = _get(port, "/", {"X-Remote-User": "dana"}, source="127.0.0.2")
        assert status == 403 and not any(s in body for s in _secrets(db))
        seen = _stream(port, {"X-Remote-User": "dana"})
        assert "Signed in as dana" in seen and "SQL (read-only)" not in seen
    finally:
        stop_dashboard(proc)


@pytest.mark.slow
@needs_chromium
def test_sign_in_in_a_real_browser(guarded, tmp_path):
    from playwright.sync_api import sync_playwright

    port, db, _proc = guarded
    base = f"http://127.0.0.1:{port}"
    secrets = _secrets(db)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for url in (base + "/", base + "/?page=Story&story=1", base + "/?page=SQL"):
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_label("Password").wait_for(timeout=30_000)
            assert not any(s in page.content() for s in secrets)
        page.screenshot(path=str(tmp_path / "login.png"))
        # A viewer: the stories, but no SQL page, and a cookie scripts cannot read.
        page.get_by_label("User name").fill("bob")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Wrong user name or password").wait_for(timeout=30_000)
        page.get_by_label("Password").fill(PASSWORDS["bob"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Stories by coverage").wait_for(timeout=90_000)
        page.get_by_text("Signed in as bob").wait_for(timeout=30_000)
        page.locator("a[href*='story=']").first.wait_for(timeout=30_000)
        assert any(s in page.content() for s in secrets)
        assert "framewatch_session" not in page.evaluate("document.cookie")
        assert page.locator("label").filter(has_text="SQL").count() == 0
        page.goto(base + "/?page=SQL", wait_until="domcontentloaded")
        page.get_by_text("Stories by coverage").wait_for(timeout=90_000)
        assert page.get_by_text("SQL (read-only)").count() == 0
        page.screenshot(path=str(tmp_path / "viewer.png"), full_page=True)
        logout = page.locator("a", has_text="Sign out").get_attribute("href")
        page.goto(base + logout, wait_until="domcontentloaded")
        page.get_by_label("Password").wait_for(timeout=30_000)
        page.goto(base + "/", wait_until="domcontentloaded")
        page.get_by_label("Password").wait_for(timeout=30_000)
        # An admin: the SQL page runs queries.
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill(PASSWORDS["alice"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in as alice").wait_for(timeout=90_000)
        page.goto(base + "/?page=SQL", wait_until="domcontentloaded")
        box = page.get_by_label("Query")
        box.wait_for(timeout=90_000)
        box.fill("SELECT count(*) AS n_stories FROM stories")
        box.press("Control+Enter")
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Run").click()
        page.get_by_text("n_stories").first.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "admin-sql.png"), full_page=True)
        browser.close()
