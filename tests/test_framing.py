"""Framing: codebooks, zero-shot shares and evidence, labels, training, evaluation."""

from __future__ import annotations

import csv
import json
import shutil

import duckdb
import pytest
from conftest import REPO, SEEDS, gold_by_title, write_jsonl
from typer.testing import CliRunner

from framewatch.analysis.framing.codebook import (
    CodebookError,
    builtin_codebooks,
    load_codebook_file,
)
from framewatch.cli import app
from framewatch.sample_site import load_corpus


def _ro(db):
    return duckdb.connect(str(db) + ".snapshot", read_only=True)


def test_builtin_codebooks_are_complete():
    books = builtin_codebooks()
    assert {"threat", "competition", "opportunity", "regulation", "economic_cost", "report"} <= set(
        books["geopolitics-tech"].frame_ids
    )
    pf = books["policy-frames"].frame_ids
    assert len(pf) == 15 and "security_defense" in pf and "external_regulation_reputation" in pf


def test_malformed_codebooks_name_the_line_or_field(tmp_path):
    f = tmp_path / "cb.toml"
    f.write_text(
        'id = "x"\nname = "X"\n[[frames]]\nid = "a"\nlabel = "A"\ndescription = "d"\n[[frames]]\nid = "b"\nlabel = 5\n'
    )
    with pytest.raises(
        CodebookError, match=r"frames\[1\].label must be a non-empty string \(line 7\)"
    ):
        load_codebook_file(f)
    f.write_text(
        'id = "x"\nname = "X"\n[[frames]]\nid = "a"\nlabel = "A"\ndescription = "d"\nexamples = "not a list"\n[[frames]]\nid="b"\nlabel="B"\ndescription="d"\n'
    )
    with pytest.raises(CodebookError, match=r"frames\[0\].examples must be a list"):
        load_codebook_file(f)
    f.write_text('id = "x"\nname = "X\n')
    with pytest.raises(CodebookError, match="line 2"):
        load_codebook_file(f)
    result = CliRunner().invoke(app, ["codebooks", "validate", str(f)])
    assert result.exit_code == 2 and "line 2" in result.output


def test_demo_primary_frames_match_the_sample_for_most_articles(demo_db):
    con = _ro(demo_db)
    rows = con.execute(
        """SELECT a.title, f.primary_frame, f.none_share, f.method FROM articles a
           JOIN article_framing f ON f.article_id = a.id WHERE f.codebook_id = 'geopolitics-tech'"""
    ).fetchall()
    sums = con.execute(
        "SELECT article_id, sum(share) FROM article_frames GROUP BY article_id, codebook_id"
    ).fetchall()
    evidence = con.execute(
        """SELECT count(DISTINCT article_id) FROM frame_evidence e JOIN article_framing f
           USING (article_id, codebook_id) WHERE e.frame_id = f.primary_frame AND e.rank = 1"""
    ).fetchone()[0]
    con.close()
    gold = gold_by_title()
    hits = sum(1 for t, p, _, _ in rows if gold[t][1] == p)
    assert len(rows) == 35 and hits / len(rows) >= 0.8, f"{hits}/{len(rows)}"
    assert all(abs(s - 1.0) < 1e-6 for _, s in sums)  # shares plus 'none' sum to one
    assert evidence == 35  # every primary frame comes with its evidence sentence
    assert {m for *_, m in rows} == {"zero-shot"}


def test_evidence_sentence_is_from_the_article_and_shows_the_frame(demo_db):
    con = _ro(demo_db)
    sentence, text = con.execute(
        """SELECT e.sentence, a.text FROM frame_evidence e JOIN articles a ON a.id = e.article_id
           WHERE a.title LIKE 'Kestrel-4 misused%' AND e.frame_id = 'threat' AND e.rank = 1"""
    ).fetchone()
    con.close()
    assert sentence in " ".join(text.split()) or sentence.startswith("Kestrel-4 misused")
    assert any(
        w in sentence.lower() for w in ("danger", "malware", "hackers", "attackers", "misused")
    )


@pytest.mark.slow
def test_label_train_and_pipeline_switches_to_supervised(tmp_path, monkeypatch):
    db = tmp_path / "sup.duckdb"
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    arts = load_corpus()
    rows = [{"title": a.title, "text": a.text, "source": a.outlet_name, "published_at": a.published.isoformat()}
            for a in arts]  # fmt: skip
    runner = CliRunner()
    assert (
        runner.invoke(app, ["import", str(write_jsonl(tmp_path / "c.jsonl", rows))]).exit_code == 0
    )
    assert runner.invoke(app, ["analyze"]).exit_code == 0
    too_few = runner.invoke(app, ["train"])
    assert too_few.exit_code == 2 and "at least 8 labels" in too_few.output
    con = _ro(db)
    ids = dict(con.execute("SELECT title, id FROM articles").fetchall())
    con.close()
    # Labels from a file; a bad frame is refused without storing anything.
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"article_id": ids[arts[0].title], "frame": "bogus"}]
    )
    r = runner.invoke(app, ["label", "--file", str(bad)])
    assert r.exit_code == 2 and "no frame 'bogus'" in r.output
    # Columns in any case and frames as eval framing takes them ("Threat"), as people write.
    labels = write_jsonl(tmp_path / "labels.jsonl",
                         [{"Article_ID": ids[a.title], "Label": a.frame.title()} for a in arts])  # fmt: skip
    r = runner.invoke(app, ["label", "--file", str(labels)])
    assert "added 35 label(s)" in r.output
    assert (
        runner.invoke(app, ["label", str(ids[arts[0].title]), "threat;competition"]).exit_code == 0
    )
    monkeypatch.setenv("FRAMEWATCH_CONFIG", str(tmp_path / "fw.toml"))
    (tmp_path / "fw.toml").write_text("[analysis]\nmin_labels_per_frame = 5\n")
    trained = runner.invoke(app, ["train", "--cv", "3"], env={"COLUMNS": "200"})
    assert trained.exit_code == 0, trained.output
    assert "(linear)" in trained.output and "3-fold macro-F1" in trained.output
    assert runner.invoke(app, ["analyze"]).exit_code == 0
    con = _ro(db)
    methods = con.execute("SELECT DISTINCT method, model_version FROM article_framing").fetchall()
    metrics = json.loads(
        con.execute("SELECT metrics FROM framing_models WHERE active").fetchone()[0]
    )
    n_rows = con.execute("SELECT count(*) FROM article_framing").fetchone()[0]
    con.close()
    assert [m for m, _ in methods] == ["supervised"] and n_rows == 35
    assert 0.5 <= metrics["macro_f1"] <= 1.0 and "threat" in metrics["per_frame"]


@pytest.mark.slow
def test_eval_framing_zero_shot_and_supervised(tmp_path):
    arts = load_corpus()
    rows = [{"title": a.title, "text": a.text, "frame": a.frame} for a in arts]
    f = write_jsonl(tmp_path / "gold.jsonl", rows)
    runner = CliRunner()
    zs = runner.invoke(app, ["eval", "framing", str(f), "--json"])
    assert zs.exit_code == 0, zs.output
    data = json.loads(zs.stdout)
    for key in ("accuracy", "macro_f1", "micro_f1", "n", "per_frame"):
        assert key in data
    assert data["accuracy"] >= 0.8 and data["confusion"]["threat"]["threat"] >= 5
    # Several frames per row, as a ';' list in a CSV; a codebook given by path.
    csv_file = tmp_path / "multi.csv"
    with csv_file.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "frames"])
        w.writerows([a.text, f"{a.frame};report"] for a in arts[:10])
    cb_file = tmp_path / "my-codebook.toml"
    shutil.copy(REPO / "analysis" / "framing" / "codebooks" / "geopolitics-tech.toml", cb_file)
    multi = runner.invoke(
        app, ["eval", "framing", str(csv_file), "--codebook", str(cb_file), "--json"]
    )
    assert multi.exit_code == 0, multi.output
    assert json.loads(multi.stdout)["per_frame"]["report"]["support"] == 10
    train_f = write_jsonl(tmp_path / "train.jsonl", rows[::2])
    test_f = write_jsonl(tmp_path / "test.jsonl", rows[1::2])
    sup = runner.invoke(
        app,
        [
            "eval",
            "framing",
            str(test_f),
            "--method",
            "supervised",
            "--train",
            str(train_f),
            "--json",
        ],
    )
    assert sup.exit_code == 0, sup.output
    assert json.loads(sup.stdout)["n"] == len(rows[1::2])
    cv = runner.invoke(
        app, ["eval", "framing", str(f), "--method", "supervised", "--cv", "3", "--json"]
    )
    assert json.loads(cv.stdout)["macro_f1"] > 0.5
    bad = runner.invoke(app, ["eval", "framing", str(f), "--cv", "3", "--few-shot", "2"])
    assert bad.exit_code == 2 and "exclude each other" in bad.output


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present")
def test_seed_articles_are_framed_differently(model):
    from framewatch.analysis.framing.zeroshot import SentenceEncoder, ZeroShotFramer
    from framewatch.config import AnalysisSettings

    cb = builtin_codebooks()["geopolitics-tech"]
    framer = ZeroShotFramer(cb, SentenceEncoder(model), AnalysisSettings().frame_threshold)
    seeds = []
    for p in sorted(SEEDS.glob("*.txt")):
        lines = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        seeds.append((p.stem, lines[0][:150], "\n".join(lines)))
    results = framer.frame_articles([(t, x) for _, t, x in seeds])
    for (stem, _, _), r in zip(seeds, results, strict=True):
        shares = ", ".join(
            f"{f} {s:.2f}" for f, s in sorted(r.shares.items(), key=lambda kv: -kv[1])
        )
        print(
            f"{stem}: primary {r.primary} ({r.confidence:.2f}); {shares}; none {r.none_share:.2f}"
        )
    assert len({r.primary for r in results}) > 1


def test_a_users_codebook_is_added_and_run_by_the_pipeline(tmp_path, monkeypatch):
    db = tmp_path / "cb.duckdb"
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    cb = tmp_path / "mine.toml"
    cb.write_text(
        'id = "energy-desk"\nname = "Energy desk"\n'
        '[[frames]]\nid = "jobs"\nlabel = "Jobs"\ndescription = "Work, employment and new jobs for local people."\n'
        'examples = ["The plant will create two thousand jobs."]\n'
        '[[frames]]\nid = "danger"\nlabel = "Danger"\ndescription = "Fire, toxic leaks and risks to residents."\n'
        'examples = ["Residents fear a fire could release toxic smoke."]\n'
    )
    monkeypatch.setenv("FRAMEWATCH_CONFIG", str(tmp_path / "fw.toml"))
    (tmp_path / "fw.toml").write_text(
        '[analysis]\ncodebooks = ["geopolitics-tech", "energy-desk"]\n'
    )
    runner = CliRunner()
    assert runner.invoke(app, ["codebooks", "validate", str(cb)]).exit_code == 0
    assert runner.invoke(app, ["codebooks", "add", str(cb)]).exit_code == 0
    listing = runner.invoke(app, ["codebooks", "list"], env={"COLUMNS": "200"}).output
    assert "energy-desk" in listing and "policy-frames" in listing
    arts = [a for a in load_corpus() if a.story == "voltaren-gigafactory"]
    rows = [{"title": a.title, "text": a.text, "source": a.outlet_name} for a in arts]
    assert (
        runner.invoke(app, ["import", str(write_jsonl(tmp_path / "v.jsonl", rows))]).exit_code == 0
    )
    assert runner.invoke(app, ["analyze"]).exit_code == 0
    con = _ro(db)
    verdicts = dict(con.execute(
        "SELECT a.title, f.primary_frame FROM article_framing f JOIN articles a ON a.id = f.article_id "
        "WHERE f.codebook_id = 'energy-desk'"
    ).fetchall())  # fmt: skip
    con.close()
    assert len(verdicts) == len(arts)
    assert verdicts["Fire and toxic risk at Port Alder gigafactory alarm residents"] == "danger"
