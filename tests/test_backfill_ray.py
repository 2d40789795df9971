"""Backfills on a real local Ray cluster give what the local engine gives.

One cluster serves every test here: a Ray head takes a while to start, and two at once
would share the machine's two cores.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port, write_jsonl
from test_backfill import _wait_for, cli_backfill, results, sample_pages, sample_rows, write_warc
from test_backfill_captures import STUB_FIRST, backfill, check_stub_first, warc

from framewatch.pipeline.children import die_with_parent


def test_ray_engine_without_the_scale_extra_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    src = write_jsonl(tmp_path / "a.jsonl", sample_rows()[:2])
    res = cli_backfill(tmp_path / "x.duckdb", str(src), "--engine", "ray")
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines == ["error: --engine ray needs Ray: pip install 'framewatch[scale]'"]


def test_ray_actors_are_sized_from_the_cluster():
    from framewatch.backfill.engines._ray import actor_resources

    # 2 CPUs: two actors reserving a whole CPU each would leave Ray Data's tasks none
    assert actor_resources({"CPU": 2.0}, 2) == (0.5, 0.0)
    assert actor_resources({"CPU": 2.0}, 1) == (1.0, 0.0)
    assert actor_resources({"CPU": 64.0, "GPU": 4.0}, 4) == (1.0, 1.0)
    assert actor_resources({"CPU": 8.0, "GPU": 1.0}, 2) == (1.0, 0.5)


def _ray_processes(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker`` (the cluster's temp dir)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in args:
            found.append(f"{proc.name} {args}")
    return found


@pytest.fixture(scope="module")
def ray_cluster():
    """A real local Ray cluster (head node on loopback, 2 CPUs) stopped after the tests.

    Started in its own process group and stopped by signalling that group: ``ray stop``
    would stop every Ray process of this user, other people's included.
    """
    pytest.importorskip("ray")
    import tempfile

    tmp = tempfile.mkdtemp(prefix="fwray", dir="/tmp")  # short: Ray's socket paths are limited
    ray_bin = Path(sys.executable).parent / "ray"
    port = free_port()
    # Ray turns token auth on when ~/.ray/auth_token exists (any earlier local
    # ray.init writes one): say what this loopback-only cluster and its driver use.
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", "--num-cpus", "2", "--num-gpus", "0",
         f"--port={port}", "--node-ip-address=127.0.0.1", "--include-dashboard=false",
         f"--temp-dir={tmp}", "--object-store-memory=200000000", "--disable-usage-stats"],
        stdout=(Path(tmp) / "head.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        # SIGTERM when this test process dies: a crashed xdist worker runs no teardown, and
        # its cluster outlived it; the head's reaper takes the cluster down with the head
        preexec_fn=functools.partial(die_with_parent, os.getpid()),
    )  # fmt: skip
    try:
        log = Path(tmp) / "head.log"
        _wait_for(lambda: "Ray runtime started" in log.read_text(errors="replace"), 180)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3  # Ray's own shutdown; what outlasts it is killed
        while _ray_processes(tmp) and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(head.pid, signal.SIGKILL)  # the group lives while its leader is unreaped
        head.wait(timeout=30)
        _wait_for(lambda: not _ray_processes(tmp), 60)
        shutil.rmtree(tmp, ignore_errors=True)
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


@pytest.mark.slow(55)
def test_ray_cluster_backfills_jsonl_and_warc_like_the_local_engine(ray_cluster, tmp_path):
    # One Ray run over an export and a crawl archive (43 articles, 8 partitions of 6 on two
    # actors), compared with the local engine's store of the same inputs; the local engine
    # stores what import + analyze do (test_backfill_jsonl_gives_the_same_store_as_...).
    # Both inputs in one run: each run starts its actors, and each actor loads the model.
    # The export holds the corpus's rewrites: its own rows would be copies of the pages.
    src = write_jsonl(tmp_path / "archive.jsonl", sample_rows(variants=2)[35:])
    warc = write_warc(tmp_path / "crawl.warc.gz", sample_pages("https://news.example", 8))
    local, on_ray = tmp_path / "local.duckdb", tmp_path / "ray.duckdb"
    assert cli_backfill(local, str(src), str(warc)).exit_code == 0
    res = cli_backfill(on_ray, str(src), str(warc), "--engine", "ray", "--address", ray_cluster,
                       "--workers", "2", "--partition-size", "6", "--stall-timeout", "240")  # fmt: skip
    assert res.exit_code == 0, res.output
    want = results(local)
    assert len(want["articles"]) == 35 + 8
    assert sum(url.startswith("https://news.example/") for _, url, *_ in want["articles"]) == 8
    assert len(want["frames"]) == len(want["members"]) == 35 + 8
    assert results(on_ray) == want


@pytest.mark.slow(60)
def test_ray_gives_the_full_capture_as_the_local_engine_does(ray_cluster, tmp_path):
    src = warc(tmp_path / "crawl.warc.gz", STUB_FIRST)
    local, on_ray = tmp_path / "local.duckdb", tmp_path / "ray.duckdb"
    reference = check_stub_first(local, backfill(local, src))
    res = backfill(on_ray, src, "--engine", "ray", "--address", ray_cluster, "--workers", "2",
                   "--partition-size", "2", "--stall-timeout", "240")  # fmt: skip
    check_stub_first(on_ray, res, reference)
