"""A fetch killed with SIGKILL at any moment resumes with nothing lost and nothing doubled."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from conftest import LOREM, Route, article_html, rss


def _serve_corpus(srv, n_feeds=3, per_feed=12):
    for f in range(n_feeds):
        items = []
        for i in range(per_feed):
            path = f"/f{f}/a{i}"
            paras = [f"Report {f}-{i} from the feed number {f}, article {i}."] + LOREM
            srv.routes[path] = Route(article_html(f"Article {f}-{i}", paras), delay=0.04)
            items.append((f"Article {f}-{i}", srv.url(path), f"summary {f}-{i}"))
        srv.routes[f"/f{f}.xml"] = Route(rss(items))


def _fw(tmp_path, db, *args):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(
        '[crawl]\nallow_hosts = ["127.0.0.1"]\nper_host_delay_s = 0.0\nper_host_concurrency = 1\n'
    )
    env = {**os.environ, "FRAMEWATCH_CONFIG": str(cfg), "FRAMEWATCH_DB": str(db)}
    return [sys.executable, "-m", "framewatch", *args], env


def _page_hits(srv) -> list[str]:
    """Article pages the server was asked for (not feeds), in order."""
    return [p for p, _ in list(srv.requests) if re.fullmatch(r"/f\d+/a\d+", p)]


def _urls(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT canonical_url FROM articles").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


@pytest.mark.slow
def test_killed_fetch_resumes_without_loss_or_doubles(http_server, tmp_path):
    srv = http_server
    _serve_corpus(srv)
    reference = tmp_path / "ref.duckdb"
    killed = tmp_path / "killed.duckdb"
    for db in (reference, killed):
        for f in range(3):
            cmd, env = _fw(tmp_path, db, "sources", "add", "--no-discover", srv.url(f"/f{f}.xml"))
            subprocess.run(cmd, env=env, check=True, capture_output=True)

    cmd, env = _fw(tmp_path, reference, "fetch")
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=120)
    expected = sorted(_urls(reference))
    assert len(expected) == 36

    # Each attempt is killed once the server has answered a given number of its page
    # requests: inside the run (a batch half stored, a page half read) however slowly
    # the process starts on a loaded machine.
    kills = 0
    for pages in (1, 4, 7, 11, 16):
        before = len(_page_hits(srv))
        cmd, env = _fw(tmp_path, killed, "fetch", "--all")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if len(_page_hits(srv)) - before >= pages:
                break
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        got = _urls(killed)
        assert len(got) == len(set(got)), "an article was stored twice"
    assert kills >= 1, "the run always finished before the kill; the test proved nothing"
    cmd, env = _fw(tmp_path, killed, "fetch", "--all")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(_urls(killed)) == expected
    con = duckdb.connect(str(killed), read_only=True)
    statuses = [r[0] for r in con.execute("SELECT status FROM runs ORDER BY id").fetchall()]
    con.close()
    assert "interrupted" in statuses and statuses[-1] == "ok"
