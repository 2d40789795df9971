"""The soak: `framewatch serve` over simulated days of misbehaving feeds, killed again and again.

Two runs over the same site (benchmarks/soak_site.py): one left alone, one SIGKILLed at
random moments (and restarted at once, as systemd would) while a reader polls the
dashboard's queries on the published snapshot. The clock moves a tick (some simulated
hours) once everything published so far is stored and analysed, or after a wait, so
both runs see the same pages. Then their stores are compared: the same articles with
the same text, the same stories (as sets of articles) and the same frames, nothing lost,
nothing doubled, and no traceback in any log.

    python -m benchmarks.soak                 # make soak: 30 feeds, 3.5 days, 20 kills
    python -m benchmarks.soak --feeds 8 --days 1 --kills 3   # the suite's short version
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from benchmarks.soak_site import SoakSite


@dataclass
class SoakConfig:
    feeds: int = 30
    days: float = 3.5
    tick_hours: float = 6.0
    per_feed_day: float = 2.0
    kills: int = 20
    seed: int = 5
    kill_delay_s: tuple[float, float] = (1.0, 12.0)
    tick_wait_s: float = 150.0  # the longest a tick waits for the crawler to catch up
    final_wait_s: float = 400.0  # ... and the end for every article (a feed's backoff included)


def _config(path: Path, site: SoakSite) -> Path:
    sources = "".join(f'[[sources]]\nurl = "{site.feed_url(i)}"\nname = "{o["name"]}"\n\n'
                      for i, o in enumerate(site.outlets))  # fmt: skip
    path.write_text(
        f"""allow_private_networks = true
snapshot_interval_s = 1.0

[crawl]
timeout_s = 2.0
poll_interval_min = 0.05
per_host_delay_s = 0.0
per_host_concurrency = 8
page_retries = 6
page_retry_after_min = 0.005
retries = 1
backoff_s = 0.2
max_retry_after_s = 2.0
obey_robots = false

[serve]
dashboard = false
health_port = 0

{sources}""",
        encoding="utf-8",
    )
    return path


def _slug(url: str) -> str:
    return url.split("?")[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".html")


class _Serve:
    """`framewatch serve` as a child process, its logs in numbered files."""

    def __init__(self, db: Path, config: Path, logs: Path):
        self.db, self.config, self.logs = db, config, logs
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.children: set[int] = set()

    def start(self) -> None:
        self.starts += 1
        log = open(self.logs / f"serve-{self.starts:03d}.log", "wb")  # noqa: SIM115
        cmd = [sys.executable, "-m", "framewatch", "--db", str(self.db), "--config",
               str(self.config), "serve"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        log.close()

    def note_children(self) -> None:
        """Remember the processes serve started, to check that none outlives it."""
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return
        self.children.update(k.pid for k in kids)

    def kill(self) -> None:
        self.note_children()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        self.note_children()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9

    def orphans(self, wait_s: float = 20.0) -> list[int]:
        import psutil

        deadline = time.monotonic() + wait_s
        while True:
            alive = [p for p in self.children if psutil.pid_exists(p)
                     and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.5)


def _analysed(db: Path) -> set[str]:
    """Slugs of articles stored, clustered and framed, as the published snapshot shows them."""
    snap = Path(str(db) + ".snapshot")
    if not snap.exists():
        return set()
    try:
        con = duckdb.connect(str(snap), read_only=True)
    except duckdb.Error:
        return set()
    try:
        rows = con.execute(
            "SELECT url FROM articles a WHERE EXISTS (SELECT 1 FROM story_members m "
            "WHERE m.article_id = a.id) AND EXISTS (SELECT 1 FROM article_framing f "
            "WHERE f.article_id = a.id)"
        ).fetchall()
    finally:
        con.close()
    return {_slug(r[0]) for r in rows}


def _expected(site: SoakSite, tick: int) -> set[str]:
    return {p.art.slug for p in site.published(tick) if site.feed_up(p.feed, tick)}


class _Reader(threading.Thread):
    """A journalist on the dashboard: its queries on the snapshot, over and over."""

    def __init__(self, db: Path):
        super().__init__(daemon=True)
        self.db, self.stop, self.queries, self.errors = db, threading.Event(), 0, []

    def run(self) -> None:
        from framewatch.dashboards import queries as q
        from framewatch.store import connect

        while not self.stop.is_set():
            try:
                con = connect(self.db, sandbox=True)
            except Exception:  # no snapshot yet, or a writer mid-publish: the dashboard retries too
                time.sleep(0.3)
                continue
            try:
                start, end = q.bounds(con)
                if start is not None:
                    cb = (q.codebooks(con) or ["geopolitics-tech"])[0]
                    top = q.top_stories(con, start, end, None, limit=10)
                    q.outlets(con)
                    if len(top):
                        q.story_articles(con, int(top.iloc[0]["story"]), cb)
                    self.queries += 1
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                con.close()
            time.sleep(0.3)


@dataclass
class _Pass:
    wall_s: float = 0.0
    kills: int = 0
    waited_out: list[int] = field(default_factory=list)
    exit_code: int | None = None
    orphans: list[int] = field(default_factory=list)


def _one_pass(
    cfg: SoakConfig, work: Path, name: str, kills: int, reader: bool
) -> tuple[_Pass, SoakSite, Path]:
    rng = random.Random(cfg.seed * 7 + kills)
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    site = SoakSite(cfg.feeds, cfg.days, cfg.tick_hours, cfg.per_feed_day, cfg.seed)
    db = folder / "soak.duckdb"
    res = _Pass()
    t0 = time.monotonic()
    with site:
        serve = _Serve(db, _config(folder / "framewatch.toml", site), folder)
        rd = _Reader(db) if reader else None
        serve.start()
        if rd:
            rd.start()
        per_tick = math.ceil(kills / site.ticks) if kills else 0

        def kill_once() -> None:
            time.sleep(rng.uniform(*cfg.kill_delay_s))
            serve.kill()
            res.kills += 1
            serve.start()

        for tick in range(site.ticks):
            site.tick = tick
            for _ in range(min(per_tick, kills - res.kills)):
                kill_once()
            if not _wait(db, _expected(site, tick), cfg.tick_wait_s, serve):
                res.waited_out.append(tick)
        while res.kills < kills:
            kill_once()
        if not _wait(db, _expected(site, site.ticks - 1), cfg.final_wait_s, serve):
            res.waited_out.append(site.ticks)
        if rd:
            rd.stop.set()
            rd.join(10)
        res.exit_code = serve.stop()
        res.orphans = serve.orphans()
    res.wall_s = round(time.monotonic() - t0, 1)
    res.reader = rd  # type: ignore[attr-defined]
    return res, site, db


def _wait(db: Path, expected: set[str], limit_s: float, serve: _Serve) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        serve.note_children()
        if serve.proc.poll() is not None:  # serve must never exit by itself
            raise RuntimeError(f"serve exited with code {serve.proc.returncode}; see {serve.logs}")
        if expected <= _analysed(db):
            return True
        time.sleep(0.5)
    return False


def _facts(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        arts = con.execute("SELECT id, url, title, text FROM articles").fetchall()
        members = con.execute("SELECT story_id, article_id FROM story_members").fetchall()
        frames = con.execute(
            "SELECT article_id, codebook_id, primary_frame, round(confidence, 4) FROM article_framing"
        ).fetchall()
        failed = con.execute("SELECT count(*) FROM runs WHERE status = 'failed'").fetchone()[0]
        interrupted = con.execute(
            "SELECT count(*) FROM runs WHERE status = 'interrupted'"
        ).fetchone()[0]
    finally:
        con.close()
    slug = {a[0]: _slug(a[1]) for a in arts}
    stories: dict[int, set[str]] = {}
    for sid, aid in members:
        stories.setdefault(sid, set()).add(slug[aid])
    return {
        "articles": {
            _slug(u): (t, hashlib.sha1((x or "").encode()).hexdigest()) for _, u, t, x in arts
        },
        "rows": len(arts),
        "stories": {frozenset(s) for s in stories.values()},
        "frames": {(slug[a], c, p, conf) for a, c, p, conf in frames},
        "failed_runs": failed,
        "interrupted_runs": interrupted,
    }


def _log_problems(folder: Path) -> tuple[int, list[str]]:
    tracebacks, errors = 0, []
    for f in sorted(folder.glob("serve-*.log")):
        text = f.read_text(encoding="utf-8", errors="replace")
        tracebacks += text.count("Traceback (most recent call last)")
        errors += [f"{f.name}: {ln}" for ln in text.splitlines()
                   if " ERROR " in ln or "internal error" in ln]  # fmt: skip
    return tracebacks, errors


def run_soak(cfg: SoakConfig, work: Path) -> dict:
    """Both passes and the comparison; the summary's ``ok`` says whether it held."""
    ref, site, ref_db = _one_pass(cfg, work, "uninterrupted", 0, reader=False)
    got, _, db = _one_pass(cfg, work, "killed", cfg.kills, reader=True)
    a, b = _facts(ref_db), _facts(db)
    expected = {p.art.slug for p in site.items}
    stored = set(b["articles"])
    tracebacks, log_errors = _log_problems(work / "killed")
    ref_tb, _ = _log_problems(work / "uninterrupted")
    reader = got.reader  # type: ignore[attr-defined]
    summary = {
        "kills": got.kills,
        "feeds": cfg.feeds,
        "simulated_days": cfg.days,
        "ticks": site.ticks,
        "articles_expected": len(expected),
        "articles_stored": len(stored),
        "articles_uninterrupted": len(a["articles"]),
        "duplicates": b["rows"] - len(stored),
        "lost": len(expected - stored),
        "unexpected": len(stored - expected),
        "text_differs": sum(1 for k, v in b["articles"].items() if a["articles"].get(k, v) != v),
        "stories": len(b["stories"]),
        "stories_uninterrupted": len(a["stories"]),
        "stories_equal": a["stories"] == b["stories"],
        "frames_equal": a["frames"] == b["frames"],
        "frames_differ": len(a["frames"] ^ b["frames"]),
        "interrupted_runs_recorded": b["interrupted_runs"],
        "failed_runs": b["failed_runs"],
        "tracebacks_in_logs": tracebacks + ref_tb,
        "errors_in_logs": len(log_errors),
        "first_log_errors": log_errors[:5],
        "reader_queries": reader.queries,
        "reader_errors": len(reader.errors),
        "first_reader_errors": reader.errors[:3],
        "ticks_waited_out": {"uninterrupted": ref.waited_out, "killed": got.waited_out},
        "serve_exit_on_sigterm": got.exit_code,
        "processes_left": len(got.orphans) + len(ref.orphans),
        "faults_served": site.faults_served,
        "wall_s": {"uninterrupted": ref.wall_s, "killed": got.wall_s},
        "config": asdict(cfg),
    }
    summary["ok"] = (
        summary["kills"] >= cfg.kills and summary["lost"] == 0 and summary["duplicates"] == 0
        and summary["unexpected"] == 0 and summary["text_differs"] == 0
        and summary["stories_equal"] and summary["frames_equal"]
        and summary["tracebacks_in_logs"] == 0 and summary["reader_errors"] == 0
        and summary["processes_left"] == 0 and summary["serve_exit_on_sigterm"] == 0
        and len(a["articles"]) == len(expected)
    )  # fmt: skip
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    d = SoakConfig()
    ap.add_argument("--feeds", type=int, default=d.feeds)
    ap.add_argument("--days", type=float, default=d.days)
    ap.add_argument("--tick-hours", type=float, default=d.tick_hours)
    ap.add_argument("--kills", type=int, default=d.kills)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--work", type=Path, help="Keep stores and logs here (default: a temp dir).")
    ap.add_argument("--out", type=Path, help="Also write the JSON summary to this file.")
    args = ap.parse_args(argv)
    cfg = SoakConfig(feeds=args.feeds, days=args.days, tick_hours=args.tick_hours,
                     kills=args.kills, seed=args.seed)  # fmt: skip
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="framewatch-soak-") as tmp:
        work = args.work or Path(tmp)
        summary = run_soak(cfg, work)
    summary["wall_s"]["total"] = round(time.monotonic() - t0, 1)
    text = json.dumps(summary, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
