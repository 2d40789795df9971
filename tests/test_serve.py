"""`framewatch serve` as a newsroom runs it: a real process, a loopback feed, a real SMTP server.

It polls, analyses, answers /health and /metrics, starts the dashboard, sends the weekly
digest once at its time (and not again after a SIGKILL and restart), reads its config
again on SIGHUP, and leaves no process behind after SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest
from conftest import free_port
from test_digest import smtp  # noqa: F401 - the aiosmtpd fixture

from framewatch.sample_site import load_corpus, load_outlets, render_feed, render_page
from framewatch.schedule import last_digest, next_digest, week_reported

BERLIN = "Europe/Berlin"


def test_digest_schedule_in_a_stated_zone_across_summer_time():
    # Monday 06:59 in Berlin (UTC+1 in winter): the digest is a minute away.
    now = datetime(2026, 11, 30, 5, 59, tzinfo=timezone.utc)
    nxt = next_digest("Mon 07:00", BERLIN, now)
    assert nxt.astimezone(timezone.utc) == datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)
    assert last_digest("Mon 07:00", BERLIN, now).date().isoformat() == "2026-11-23"
    assert last_digest("Mon 07:00", BERLIN, nxt) == nxt  # due exactly now counts as due
    assert week_reported(nxt) == "2026-W48"  # the week that ended the day before
    # In summer the same setting is 05:00 UTC.
    summer = next_digest("Mon 07:00", BERLIN, datetime(2026, 7, 1, tzinfo=timezone.utc))
    assert summer.astimezone(timezone.utc).hour == 5


def test_bad_digest_time_is_one_clear_line(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text('[digest]\nsend_at = "Monday at seven"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "framewatch", "--db", str(tmp_path / "x.duckdb"), "--config",
         str(cfg), "serve"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert 'digest.send_at must be a weekday and a time like "Mon 07:00"' in done.stderr
    assert "Traceback" not in done.stderr
    cfg.write_text('[digest]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "framewatch", "--config", str(cfg), "status"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "IANA time zone" in done.stderr
    # A health port someone else holds: one line naming the setting, no traceback.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg.write_text(f"[serve]\ndashboard = false\nhealth_port = {port}\n", encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "framewatch", "--db", str(tmp_path / "x.duckdb"), "--config",
             str(cfg), "serve"], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1 and "set [serve] health_port to a free port" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def _publish_last_week(http_server, which: int = 0) -> list:
    """Three articles of one sample story, published a week ago, on one loopback feed
    (``which`` picks another outlet and story)."""
    outlet = [o for o in load_outlets() if o["feed"] != "atom"][which]
    story = list(dict.fromkeys(a.story for a in load_corpus()))[which]
    when = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0) - timedelta(days=7)
    arts = [replace(a, outlet=outlet["id"], published=when + timedelta(minutes=i))
            for i, a in enumerate(a for a in load_corpus() if a.story == story)][:3]  # fmt: skip
    base = http_server.base
    http_server.routes[f"/{outlet['id']}/feed.xml"] = _route(render_feed(outlet, arts, base), "xml")
    for a in arts:
        http_server.routes[f"/{outlet['id']}/{a.slug}.html"] = _route(
            render_page(outlet, a, arts, base)
        )
    return arts


def _route(body: str, kind: str = "html"):
    from conftest import Route

    ctype = "application/rss+xml" if kind == "xml" else "text/html; charset=utf-8"
    return Route(body=body, headers={"Content-Type": ctype})


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _wait(what, timeout: float, proc: subprocess.Popen, log) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"serve exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            got = what()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(0.5)
    pytest.fail(f"timed out waiting; serve log: {log.read_text()[-3000:]}")


def _gone(pids: set[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.3)


@pytest.mark.slow(75)
@pytest.mark.timeout(420)
def test_serve_polls_analyses_reports_sends_the_digest_once_and_stops_cleanly(
    tmp_path,
    http_server,
    smtp,  # noqa: F811
):
    arts = _publish_last_week(http_server)
    health_port, dash_port = free_port(), free_port()
    # The digest is due at the start of the first minute at least 10 s from now, Berlin
    # time (10 to 70 s): serve's scheduler is usually up by then; when it is not, serve
    # sends the missed digest as it starts, also once and not early.
    due = (datetime.now(ZoneInfo(BERLIN)) + timedelta(seconds=70)).replace(second=0, microsecond=0)
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(f"""allow_private_networks = true
[crawl]
poll_interval_min = 0.05
per_host_delay_s = 0.0
[digest]
send_at = "{due:%a %H:%M}"
timezone = "{BERLIN}"
[serve]
dashboard_port = {dash_port}
health_port = {health_port}
metrics = true
[smtp]
host = "127.0.0.1"
port = {smtp.port}
[[subscribers]]
email = "desk@example.org"
[[sources]]
url = "{http_server.url(f"/{arts[0].outlet}/feed.xml")}"
name = "Loopback Daily"
""", encoding="utf-8")  # fmt: skip
    db, log = tmp_path / "fw.duckdb", tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "framewatch", "--db", str(db), "--config", str(cfg), "serve"]

    def start() -> subprocess.Popen:
        with open(log, "ab") as fh:
            return subprocess.Popen(
                cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )

    def children(p: subprocess.Popen) -> set[int]:
        return {c.pid for c in psutil.Process(p.pid).children(recursive=True)}

    proc = start()
    try:
        # Polled, stored, clustered, framed: /health says so, with a 200.
        def analysed():
            code, r = _health(health_port)
            done = r.get("articles") == 3 and not any(r["waiting_for_analysis"].values())
            return (code, r) if done else None

        code, report = _wait(analysed, 240, proc, log)
        assert code == 200 and report["healthy"] and report["stories"] >= 1
        assert report["serve"]["dashboard"] == "running"
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{health_port}/metrics").read().decode()
        assert "framewatch_articles 3.0" in metrics
        assert 'framewatch_waiting_for_analysis{step="embedding"} 0.0' in metrics
        # The dashboard it started answers.
        dash = f"http://127.0.0.1:{dash_port}/_stcore/health"
        _wait(lambda: urllib.request.urlopen(dash, timeout=2).status == 200, 90, proc, log)

        # The digest goes out at its time, once, for the week that ended.
        _wait(lambda: smtp.messages, 150, proc, log)
        time.sleep(3)
        assert len(smtp.messages) == 1
        rcpts, content = smtp.messages[0]
        assert rcpts == ["desk@example.org"]
        last_week = week_reported(due)
        assert f"framewatch digest {last_week}".encode() in content
        assert smtp.arrived[0] >= due.timestamp()  # not before its time

        # SIGKILL: every process serve started goes with it; a restart sends nothing again.
        kids = children(proc)
        assert kids, "serve should have started the dashboard and the model process"
        last_before = _health(health_port)[1]["last_run"]["id"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _gone(kids) == []
        proc = start()

        def resumed() -> bool:  # a run of the new process finished (the digest check follows each)
            r = _health(health_port)[1]
            last = r.get("last_run") or {}
            return last.get("status") == "ok" and last.get("id", 0) > last_before + 1

        _wait(resumed, 120, proc, log)
        time.sleep(2)
        assert len(smtp.messages) == 1
        code, report = _health(health_port)
        assert report["digest"]["last_week"] == last_week and report["digest"]["sent"] == 1
        assert report["articles"] == 3  # nothing doubled by the restart

        # A backup may be taken while serve runs; a restore is refused until it stops
        # (between runs nothing holds the store, but serve keeps its state in memory).
        fw = [sys.executable, "-m", "framewatch", "--db", str(db), "--config", str(cfg)]
        backup = subprocess.run(
            [*fw, "backup", str(tmp_path / "bk")], capture_output=True, text=True, timeout=120
        )
        assert backup.returncode == 0, backup.stderr
        refused = subprocess.run(
            [*fw, "restore", str(tmp_path / "bk")], capture_output=True, text=True, timeout=120
        )
        assert (
            refused.returncode == 1
            and f"(pid {proc.pid})" in refused.stderr
            and "stop it first" in refused.stderr
        )

        # SIGHUP reads the config again: the feed put in its place is polled, the one taken
        # out is not; a file that does not load is logged and the running config kept.
        second = _publish_last_week(http_server, 1)
        first_url = http_server.url(f"/{arts[0].outlet}/feed.xml")
        cfg.write_text(cfg.read_text(encoding="utf-8").replace(
            f'url = "{first_url}"\nname = "Loopback Daily"',
            f'url = "{http_server.url(f"/{second[0].outlet}/feed.xml")}"\nname = "Loopback Weekly"',
        ), encoding="utf-8")  # fmt: skip
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: _health(health_port)[1].get("articles") == 6, 120, proc, log)
        text = log.read_text()
        assert "SIGHUP: no longer polling Loopback Daily (taken out of the config)" in text
        assert "SIGHUP: config reloaded" in text and "sources changed" in text
        assert _health(health_port)[1]["sources"] == 1  # polled feeds: the new one only
        cfg.write_text('[crawl]\nretries = "many"\n', encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: "config not reloaded" in log.read_text(), 30, proc, log)
        assert "crawl.retries: expected an integer" in log.read_text()
        assert _health(health_port)[0] == 200  # still serving, as configured before

        # SIGTERM: a clean stop, nothing left behind.
        kids = _wait(lambda: children(proc), 60, proc, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not Path(f"{db}.serve").exists()  # so a restore may go ahead now
        assert _gone(kids) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "SIGTERM: stopping" in text and "stopped" in text
    # Idle polls (every 3 s here) log their one "run #N done" line, not a line per stage.
    assert ": 0 to do" not in text and ": 0 done" not in text and "run #" in text
