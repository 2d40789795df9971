"""`framewatch run` analyses articles while other feeds are still downloading."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from conftest import LOREM, Route, article_html, rss

from framewatch.config import AnalysisSettings
from framewatch.pipeline.model_worker import ModelWorker
from framewatch.pipeline.runner import run_all
from framewatch.pipeline.runs import recorded_run
from framewatch.sources import add_source

FEED = {"Content-Type": "application/rss+xml"}


def _outlet(srv, name: str, n: int) -> None:
    items = []
    for i in range(n):
        path = f"/{name}/a{i}"
        lead = f"The {name} desk reports that terminal {i} at the harbour opened to ships today."
        srv.routes[path] = Route(article_html(f"{name} terminal {i} opens", [lead, *LOREM]))
        items.append((f"{name} terminal {i} opens", srv.url(path), f"summary {i}"))
    srv.routes[f"/{name}.xml"] = Route(rss(items, title=name), headers=FEED)


def test_fast_outlet_is_framed_while_a_slow_one_still_downloads(http_server, store, settings):
    srv = http_server
    _outlet(srv, "quick", 16)
    _outlet(srv, "slow", 3)
    reader = store.con.cursor()  # its own connection: safe to use from the server's thread
    seen_framed: list[int] = []
    last = srv.routes["/slow/a2"]

    def hold_last_page(_handler) -> Route:
        # Answer only once the quick outlet's articles are framed (or give up after 90 s):
        # a pipeline that waits for every feed before analysing would never get there.
        deadline = time.monotonic() + 90
        while True:
            framed = reader.execute("SELECT count(*) FROM article_framing").fetchone()[0]
            if framed >= 16 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        seen_framed.append(framed)
        reader.close()  # an open reader would keep the store from checkpointing
        return last

    srv.routes["/slow/a2"] = Route(dynamic=hold_last_page)
    settings.crawl.timeout_s = 120.0
    settings.crawl.retries = 0
    for name in ("quick", "slow"):
        add_source(store, srv.url(f"/{name}.xml"), name=name)

    with recorded_run(store, "run") as rec:
        run_all(store, settings, rec)

    assert seen_framed and seen_framed[0] >= 16, seen_framed
    # Afterwards everything is analysed, once: nothing was skipped or done twice.
    one = lambda sql: store.execute(sql).fetchone()[0]  # noqa: E731
    assert one("SELECT count(*) FROM articles") == 19
    assert one("SELECT count(*) FROM article_framing") == 19
    assert one("SELECT count(*) FROM embeddings") == 19
    assert one("SELECT count(*) FROM story_members") == 19
    assert rec.counts["articles_framed"] == 19
    assert rec.counts["articles_embedded"] == 19


@pytest.mark.slow
def test_a_killed_model_process_is_restarted_and_gives_the_same_vectors():
    rows = [(1, "Harbour terminal opens", " ".join(LOREM))]
    with ModelWorker(AnalysisSettings()) as models:
        before = models.embed(rows)
        os.kill(models.pid(), signal.SIGKILL)  # what the OOM killer does
        time.sleep(0.5)
        after = models.embed(rows)
    assert before.shape == (1, 384)
    np.testing.assert_allclose(before, after, atol=1e-5)


def test_run_with_an_unloadable_model_keeps_what_it_fetched(http_server, store, settings, tmp_path):
    _outlet(http_server, "quick", 3)
    add_source(store, http_server.url("/quick.xml"), name="quick")
    settings.analysis.model = str(tmp_path / "no-such-model")
    with (
        pytest.raises(ValueError, match="cannot load embedding model"),
        recorded_run(store, "run") as rec,
    ):
        run_all(store, settings, rec)
    assert store.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
    status = store.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert status == "failed"


def _embed_in_a_pool_worker() -> tuple[bool, tuple[int, ...]]:
    import multiprocessing as mp

    with ModelWorker(AnalysisSettings()) as models:
        vecs = models.embed([(1, "Harbour terminal opens", LOREM[0])])
    return mp.current_process().daemon, vecs.shape


def test_model_work_runs_in_place_inside_a_daemonic_pool_worker():
    import multiprocessing as mp

    # A multiprocessing.Pool worker may not start processes of its own.
    with mp.get_context("spawn").Pool(1) as pool:
        daemon, shape = pool.apply(_embed_in_a_pool_worker)
    assert daemon and shape == (1, 384)


def test_model_threads_honour_the_cpu_set_and_omp_num_threads(monkeypatch):
    # framewatch sets torch's thread count itself; an operator's cap must still hold.
    allowed = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert ModelWorker(AnalysisSettings()).threads == allowed
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    worker = ModelWorker(AnalysisSettings())
    assert worker.threads == 1
    worker.share_cores(True)
    assert worker.threads == 1  # never 0, whatever the fetcher needs
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")  # not a number: ignored
    assert ModelWorker(AnalysisSettings()).threads == allowed
