"""The soak's short version: serve SIGKILLed while feeds misbehave loses and doubles nothing.

`make soak` runs the long one (30 feeds, 3.5 simulated days, 20 kills; benchmarks/soak.py).
"""

from __future__ import annotations

import pytest

from benchmarks.soak import SoakConfig, run_soak


@pytest.mark.slow(100)
@pytest.mark.timeout(1200)
def test_short_soak_matches_the_uninterrupted_run(tmp_path):
    # Each kill 1-6 s into a tick (the long soak: 1-12 s), while serve works on the tick's
    # new articles: a kill inside a run is asserted below, and there is less idle time.
    # Two ticks of twice the news (16 articles) rather than four: half the waiting, as many
    # articles; two kills, one per tick.
    cfg = SoakConfig(feeds=8, days=0.5, tick_hours=6.0, per_feed_day=4.0, kills=2,
                     kill_delay_s=(1.0, 6.0))  # fmt: skip
    s = run_soak(cfg, tmp_path)
    detail = {k: v for k, v in s.items() if k != "config"}
    assert s["kills"] == 2, detail
    assert s["articles_expected"] >= 16 and s["articles_uninterrupted"] == s["articles_expected"]
    assert (s["lost"], s["duplicates"], s["unexpected"], s["text_differs"]) == (0, 0, 0, 0), detail
    assert s["stories_equal"] and s["frames_equal"], detail
    assert s["interrupted_runs_recorded"] >= 1, detail  # the kills did land inside runs
    assert s["tracebacks_in_logs"] == 0 and s["errors_in_logs"] == 0, detail
    assert s["reader_queries"] > 0 and s["reader_errors"] == 0, detail
    assert s["serve_exit_on_sigterm"] == 0 and s["processes_left"] == 0, detail
    assert sum(s["faults_served"].values()) > 0, detail
    assert s["ok"], detail
