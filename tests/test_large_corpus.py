"""Real-length corpora: story labels with a vocabulary far past 20,000 terms, import then analyze.

`framewatch analyze` once crashed on a few hundred ~600-word articles ("axis 1 is out
of bounds") as soon as a batch of stories had 20,000 distinct n-grams.
"""

from __future__ import annotations

import json
from collections import defaultdict

import duckdb
import pytest
from conftest import REPO, write_jsonl
from long_corpus import long_articles
from sklearn.feature_extraction.text import CountVectorizer
from typer.testing import CliRunner

from framewatch.analysis.stories.clustering import bcubed
from framewatch.analysis.stories.labels import _TOKEN, ctfidf_labels
from framewatch.cli import app

CLIMATE = REPO.parent / "shared" / "dev-data" / "narrative_frames_climate" / "articles.jsonl"


def test_labels_with_a_vocabulary_far_past_20000_terms():
    by_event: dict[str, list[dict]] = defaultdict(list)
    for row in long_articles():
        by_event[row["story"]].append(row)
    events = list(by_event.values())
    docs = ["\n".join(f"{a['title']}. {a['text']}" for a in arts) for arts in events]
    vocab = CountVectorizer(stop_words="english", ngram_range=(1, 2), token_pattern=_TOKEN)
    assert len(vocab.fit(docs).vocabulary_) > 100_000  # five times past where it broke
    labels = ctfidf_labels(docs)
    assert len(labels) == len(docs)
    for label, arts in zip(labels, events, strict=True):
        terms = label.split(" · ")
        assert len(terms) == 3, label
        # The event's own names and topic words, not the long tail of rare words: each
        # term is in every article of the event, and most are in its headlines.
        texts = [f"{a['title']} {a['text']}".lower().split() for a in arts]
        assert all(w in text for t in terms for w in t.split() for text in texts), label
        titles = " ".join(a["title"] for a in arts).lower().split()
        assert sum(any(w in titles for w in t.split()) for t in terms) >= 2, (label, titles)


def test_chinese_and_japanese_labels_are_words_not_clauses():
    # Unspaced text was one "word" per clause: the label was three whole clauses.
    docs = [
        "深度求索发布开源人工智能模型，引发美国担忧。中国初创公司深度求索周一发布了新的开源大模型。",
        "北京举行马拉松比赛，数万人参加。北京马拉松比赛周日举行，三万名跑者参加了比赛。",
        "東京で大地震、多くの建物が倒壊。東京の地震で多くの被害が出た。",
    ]
    labels = [label.split(" · ") for label in ctfidf_labels(docs, languages=["zh", "zh", "ja"])]
    assert all(len(terms) == 3 and max(map(len, terms)) <= 4 for terms in labels), labels
    assert "深度求索" in labels[0] and "马拉松" in labels[1] and "地震" in labels[2]
    assert "马拉松比" not in labels[1]  # no piece straddling two words beside one of them


def test_labels_prefer_the_phrase_and_never_depend_on_sort_order():
    docs = [
        "South Africa holds elections. South Africa votes.",
        "Harbour bridge closed. Harbour bridge repairs.",
        "Rail strike continues. Rail strike talks.",
    ]
    first = ctfidf_labels(docs)
    assert first[0].startswith("south africa") and first[1].startswith("harbour bridge")
    assert ctfidf_labels(docs) == first and ctfidf_labels(docs[::-1]) == first[::-1]


def _import_and_analyze(tmp_path, corpus) -> duckdb.DuckDBPyConnection:
    # Stories only: framing long articles is covered elsewhere and dominates the runtime.
    config = tmp_path / "framewatch.toml"
    config.write_text("[analysis]\ncodebooks = []\n", encoding="utf-8")
    db = str(tmp_path / "long.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["--db", db, "import", str(corpus)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", db, "--config", str(config), "analyze"])
    assert r.exit_code == 0, r.output
    return duckdb.connect(db + ".snapshot", read_only=True)


@pytest.mark.slow
def test_import_then_analyze_300_long_articles(tmp_path):
    rows = long_articles()
    assert len(rows) == 300 and min(len(r["text"].split()) for r in rows) >= 600
    con = _import_and_analyze(tmp_path, write_jsonl(tmp_path / "long.jsonl", rows))
    members = con.execute(
        "SELECT a.url, m.story_id FROM story_members m JOIN articles a ON a.id = m.article_id"
    ).fetchall()
    unlabelled = con.execute(
        "SELECT count(*) FROM stories WHERE label IS NULL OR headline IS NULL"
    ).fetchone()[0]
    con.close()
    gold = {r["url"]: r["story"] for r in rows}
    assert len(members) == 300 and unlabelled == 0
    _, _, f1 = bcubed([s for _, s in members], [gold[u] for u, _ in members])
    assert f1 >= 0.9


@pytest.mark.slow
@pytest.mark.skipif(not CLIMATE.exists(), reason="dev-data not present")
def test_import_then_analyze_real_climate_articles(tmp_path):
    rows = [json.loads(line) for line in CLIMATE.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 200
    con = _import_and_analyze(tmp_path, CLIMATE)
    n, labelled = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE label <> '' AND headline IS NOT NULL) FROM stories"
    ).fetchone()
    clustered = con.execute("SELECT count(*) FROM story_members").fetchone()[0]
    con.close()
    assert clustered == len(rows) and n == labelled > 0
