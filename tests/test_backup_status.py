"""`framewatch backup / restore` while a run writes, and `framewatch status` on a failing feed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import LOREM, Route, article_html, rss


def _cli(db: Path, *args: str, cfg: Path | None = None, timeout: float = 120):
    cmd = [sys.executable, "-m", "framewatch", "--db", str(db)]
    if cfg is not None:
        cmd += ["--config", str(cfg)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)


def _feed(http_server, n: int, delay: float = 0.0) -> None:
    items = [(f"Harbour tram extension, part {i}", http_server.url(f"/a/{i}"), "Council news")
             for i in range(n)]  # fmt: skip
    http_server.routes["/feed.xml"] = Route(
        body=rss(items), headers={"Content-Type": "application/rss+xml"}
    )
    for i in range(n):
        paras = [f"Part {i}: {p}" for p in LOREM] * 2
        http_server.routes[f"/a/{i}"] = Route(body=article_html(f"Harbour tram extension, part {i}", paras),
                                              delay=delay)  # fmt: skip


def _config(tmp_path: Path, http_server) -> Path:
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(f"""allow_private_networks = true
snapshot_interval_s = 0.5
[crawl]
per_host_delay_s = 0.0
per_host_concurrency = 1
min_words = 20
[[sources]]
url = "{http_server.url("/feed.xml")}"
name = "Loopback News"
""", encoding="utf-8")  # fmt: skip
    return cfg


def _articles(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(r[0] for r in con.execute("SELECT url FROM articles").fetchall())
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_backup_while_a_run_writes_and_restore_round_trip(tmp_path, http_server):
    db = tmp_path / "fw.duckdb"
    cfg = _config(tmp_path, http_server)
    _feed(http_server, 4)
    assert _cli(db, "fetch", cfg=cfg).returncode == 0
    first = _articles(db)
    assert len(first) == 4
    added = subprocess.run([sys.executable, "-m", "framewatch", "--db", str(db), "users", "add",
                            "editor", "--password-stdin"], input="harbour-desk-2026\n",
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert added.returncode == 0, added.stderr

    # A second run writes 16 more articles, slowly, holding the store.
    _feed(http_server, 20, delay=0.4)
    run = subprocess.Popen([sys.executable, "-m", "framewatch", "--db", str(db), "--config",
                            str(cfg), "fetch", "--all"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not http_server.hits("/a/10") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert run.poll() is None, "the run should still be writing"
        # Without waiting: the last published snapshot, consistent at a batch boundary.
        quick = _cli(db, "backup", str(tmp_path / "quick"), "--wait", "0")
        assert quick.returncode == 0, quick.stderr
        assert "from the snapshot" in quick.stdout
        assert run.poll() is None, "the backup must not have waited for the run"
        # Waiting: a copy of the store itself once the run lets go of it.
        full = _cli(db, "backup", str(tmp_path / "full"))
        assert full.returncode == 0, full.stderr
        assert "from the store" in full.stdout
    finally:
        out = run.communicate(timeout=120)[0]
    assert run.returncode == 0, out
    final = _articles(db)
    assert len(final) == 20

    quick_m = json.loads((tmp_path / "quick" / "manifest.json").read_text())
    assert 4 <= quick_m["counts"]["articles"] <= 20
    full_m = json.loads((tmp_path / "full" / "manifest.json").read_text())
    assert full_m["counts"]["articles"] == 20

    # Restore into a new place: the very same rows, and a usable store.
    other = tmp_path / "restored.duckdb"
    done = _cli(other, "restore", str(tmp_path / "full"))
    assert done.returncode == 0, done.stderr
    assert _articles(other) == final
    listed = _cli(other, "sql", "SELECT count(*) AS n FROM articles", "--format", "csv")
    assert listed.returncode == 0 and listed.stdout.strip().endswith("20")

    # Restore over the live store: the older backup comes back, the replaced store is kept.
    # A marker left by a serve that was killed (its process is gone) does not stand in the way.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    Path(f"{db}.serve").write_text(str(gone.pid))
    done = _cli(db, "restore", str(tmp_path / "quick"))
    assert done.returncode == 0, done.stderr
    assert len(_articles(db)) == quick_m["counts"]["articles"]
    # The snapshot holds no logins table; the backup taken from it must keep the logins.
    users = _cli(db, "users", "list", "--json")
    assert users.returncode == 0, users.stderr
    assert [u["name"] for u in json.loads(users.stdout)] == ["editor"]
    kept = [p for p in tmp_path.glob("fw.duckdb.before-restore-*") if not p.name.endswith(".wal")]
    assert len(kept) == 1 and _articles(kept[0]) == final
    # The restored store resumes: the next fetch brings it back to every article.
    assert _cli(db, "fetch", "--all", cfg=cfg).returncode == 0
    assert _articles(db) == final

    # A damaged backup is refused with one line, and nothing is replaced.
    blob = tmp_path / "full" / "framewatch.duckdb"
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    bad = _cli(db, "restore", str(tmp_path / "full"))
    assert bad.returncode == 1 and "does not match the manifest's checksum" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert _articles(db) == final
    assert _cli(db, "backup", str(tmp_path / "quick")).returncode == 2  # not an empty folder
    assert _cli(db, "restore", str(tmp_path)).returncode == 2  # not a backup: no manifest


def test_status_reports_a_failing_feed_and_exits_1(tmp_path, http_server):
    db = tmp_path / "fw.duckdb"
    cfg = _config(tmp_path, http_server)
    http_server.routes["/feed.xml"] = Route(body="down for maintenance", status=500)
    # An archive imported beside the feed: its outlet is not a feed, never polled nor failing.
    archive = tmp_path / "archive.jsonl"
    archive.write_text(json.dumps({"title": "Tram depot opens", "text": " ".join(LOREM),
                                   "source": "Old Gazette", "published_at": "2025-05-01"}) + "\n")  # fmt: skip
    assert _cli(db, "import", str(archive), cfg=cfg).returncode == 0
    assert _cli(db, "fetch", cfg=cfg).returncode == 3  # partial: the feed failed
    done = _cli(db, "status", "--json", cfg=cfg)
    assert done.returncode == 1
    r = json.loads(done.stdout)
    assert r["healthy"] is False
    assert r["reasons"] == ["every feed is failing (1)"]
    assert [(f["name"], f["streak"]) for f in r["failing_feeds"]] == [("Loopback News", 1)]
    assert r["last_run"]["command"] == "fetch" and r["articles"] == 1  # the archive's
    assert r["last_run"]["finished_at"].endswith("+00:00")  # every time carries its offset
    assert r["digest"]["send_at"] == "Mon 07:00" and r["digest"]["next_at"]
    assert r["store"]["bytes"] > 0
    text = _cli(db, "status", cfg=cfg)
    assert text.returncode == 1
    assert text.stdout.startswith("UNHEALTHY: every feed is failing (1)")
    assert "Loopback News: 1 in a row" in text.stdout

    # The feed recovers: healthy again, nothing waiting but analysis of what came in.
    _feed(http_server, 2)
    assert _cli(db, "fetch", "--all", cfg=cfg).returncode == 0
    r = json.loads(_cli(db, "status", "--json", cfg=cfg).stdout)
    assert r["healthy"] and r["failing_feeds"] == [] and r["articles"] == 3
    assert r["waiting_for_analysis"]["embedding"] == 3
