"""Feed health and address safety: failing feeds back off with jitter and are shown to the
user (sources list, digest); a slow feed delays no other; DNS rebinding reaches nothing."""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import threading

import pytest
from conftest import LOREM, Route, article_html, rss
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.crawler.downloads import AddressPolicy, Fetcher, RefusedAddress
from framewatch.crawler.fetch import feed_state_of, fetch_due
from framewatch.crawler.health import JITTER
from framewatch.sources import add_source, list_sources
from framewatch.store import open_store


def _wait(state) -> float:
    return (state["next_poll_at"] - state["last_polled_at"]).total_seconds() / 60


def test_failing_feed_backs_off_exponentially_with_jitter_then_recovers(
    http_server, store, settings
):
    srv = http_server
    settings.crawl.retries = 0
    srv.routes["/a.xml"] = Route(status=500)
    srv.routes["/b.xml"] = Route(status=500)
    a = add_source(store, srv.url("/a.xml"), name="A")
    b = add_source(store, srv.url("/b.xml"), name="B")
    rng = random.Random(13)
    interval = settings.crawl.poll_interval_min
    waits = {a: [], b: []}
    for _ in range(4):
        fetch_due(store, settings, force=True, rng=rng)
        for sid in (a, b):
            waits[sid].append(_wait(feed_state_of(store, sid)))
    for sid in (a, b):
        for n, w in enumerate(waits[sid]):
            nominal = interval * 2**n
            assert JITTER[0] * nominal <= w <= JITTER[1] * nominal
        assert waits[sid] == sorted(waits[sid])  # each failure waits longer
    # Two feeds that failed together do not come back together.
    assert all(wa != wb for wa, wb in zip(waits[a], waits[b], strict=True))
    state = feed_state_of(store, a)
    assert state["consecutive_failures"] == 4 and "HTTP 500" in state["last_error"]
    assert fetch_due(store, settings, rng=rng).sources == []  # not due while backing off

    srv.routes["/a.xml"] = Route(rss([]))
    fetch_due(store, settings, force=True, rng=rng)
    state = feed_state_of(store, a)
    assert state["consecutive_failures"] == 0 and state["last_error"] is None
    assert _wait(state) == pytest.approx(interval)


def test_sources_list_shows_last_error_streak_and_next_poll(http_server, tmp_path, settings):
    srv = http_server
    settings.crawl.retries = 0
    srv.routes["/gone.xml"] = Route(status=503)
    db = tmp_path / "fw.duckdb"
    store = open_store(db)
    add_source(store, srv.url("/gone.xml"), name="Gone Gazette")
    for _ in range(3):
        fetch_due(store, settings, force=True, rng=random.Random(1))
    (src,) = list_sources(store)
    store.close()
    assert src.consecutive_failures == 3 and src.next_poll_at is not None
    # A wide terminal: one line per source.
    r = CliRunner().invoke(app, ["--db", str(db), "sources", "list"], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "Gone Gazette" in r.output and "HTTP 503" in r.output
    assert f"{src.next_poll_at:%Y-%m-%d %H:%M} UTC" in r.output
    row = next(line for line in r.output.splitlines() if "Gone Gazette" in line)
    assert " 3 " in row


def test_a_hanging_feed_delays_no_other(http_server, store, settings):
    srv = http_server
    release = threading.Event()
    settings.crawl.timeout_s = 30  # the hanging feed would not time out before the others

    def hang(handler):
        release.wait(60)
        return Route(rss([]))

    srv.routes["/hang.xml"] = Route(dynamic=hang)
    srv.routes["/p"] = Route(article_html("Prompt story", LOREM))
    srv.routes["/ok.xml"] = Route(rss([("Prompt", srv.url("/p"), "s")]))
    hanging = add_source(store, srv.url("/hang.xml"), name="Hanging")
    add_source(store, srv.url("/ok.xml"), name="Prompt")
    seen = []

    def on_source(rep):
        # The prompt feed's articles are committed while the other still hangs.
        stored = store.execute("SELECT count(*) FROM articles").fetchone()[0]
        seen.append((rep.name, rep.status, stored, srv.active.get("/hang.xml", 0)))
        release.set()

    fetch_due(store, settings, on_source=on_source)
    assert seen[0] == ("Prompt", "ok", 1, 1)
    assert seen[1][:2] == ("Hanging", "ok")
    assert feed_state_of(store, hanging)["consecutive_failures"] == 0


def test_a_dead_feed_times_out_and_is_recorded(http_server, store, settings):
    srv = http_server
    settings.crawl.timeout_s = 0.5
    settings.crawl.retries = 0
    srv.routes["/dead.xml"] = Route(rss([]), delay=3)
    sid = add_source(store, srv.url("/dead.xml"))
    report = fetch_due(store, settings, rng=random.Random(2))
    assert report.sources[0].status == "failed"
    state = feed_state_of(store, sid)
    assert "timed out" in state["last_error"] and state["consecutive_failures"] == 1


def test_digest_lists_feeds_that_stopped_escaped(demo_db, tmp_path, http_server, settings):
    srv = http_server
    settings.crawl.retries = 0
    db = tmp_path / "digest.duckdb"
    shutil.copy(demo_db, db)
    srv.routes["/broken.xml"] = Route(status=502)
    store = open_store(db)
    add_source(store, srv.url("/broken.xml"), name='Evil <img src=x onerror="alert(1)"> Feed')
    for _ in range(3):
        fetch_due(store, settings, force=True, rng=random.Random(3))
    store.publish_snapshot()
    store.close()
    page, eml = tmp_path / "d.html", tmp_path / "d.eml"
    r = CliRunner().invoke(
        app, ["--db", str(db), "digest", "--preview", str(page), "--eml", str(eml)]
    )
    assert r.exit_code == 0, r.output
    html = page.read_text()
    assert "Feeds that stopped" in html
    assert "Evil &lt;img" in html and "<img" not in html
    assert "3 failed polls in a row, never read" in html and "HTTP 502" in html
    assert "FEEDS THAT STOPPED" in eml.read_text()


# -- address safety -------------------------------------------------------------------
@pytest.fixture
def rebinding_dns(monkeypatch):
    """rebind.test answers a public address first and 127.0.0.1 afterwards."""
    real = socket.getaddrinfo
    calls = []

    def fake(host, port, *args, **kwargs):
        if (host.decode() if isinstance(host, bytes) else host) != "rebind.test":  # anyio: bytes
            return real(host, port, *args, **kwargs)
        calls.append(host)
        ip = "93.184.215.14" if len(calls) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 80))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def test_dns_rebinding_cannot_reach_a_private_address(http_server, settings, rebinding_dns):
    srv = http_server
    srv.routes["/secret"] = Route("internal admin page")
    settings.crawl.allow_hosts = []

    async def go():
        async with Fetcher(settings.crawl) as f:
            return await f.get(f"http://rebind.test:{srv.port}/secret")

    with pytest.raises(RefusedAddress, match="non-public address 127.0.0.1"):
        asyncio.run(go())
    assert len(rebinding_dns) >= 2  # the check saw the public answer, the connection the other
    assert srv.requests == []  # nothing reached the private address


def test_checked_address_is_used_with_the_host_name_kept(http_server, settings, rebinding_dns):
    srv = http_server
    srv.routes["/page"] = Route("hello")
    rebinding_dns.append("skip the public answer")

    async def go():
        async with Fetcher(settings.crawl, allow_private_networks=True) as f:
            return await f.get(f"http://rebind.test:{srv.port}/page")

    resp = asyncio.run(go())
    assert resp.status == 200 and resp.body == b"hello"
    assert srv.hits("/page")[0]["host"] == f"rebind.test:{srv.port}"


@pytest.mark.parametrize("address", ["100.64.1.1", "10.1.2.3", "::1", "169.254.169.254"])
def test_non_public_addresses_are_refused(address):
    with pytest.raises(RefusedAddress):
        asyncio.run(AddressPolicy().addresses(address, 80))
