"""Every article's language: detected at import, crawl and backfill, the declared one kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Route, article_html, write_jsonl

from framewatch.language import language_of

DEV = Path(__file__).resolve().parents[2] / "shared" / "dev-data"

DE = [
    "Nach dem Amoklauf an einer Schule in Texas fordern Eltern und Lehrer schärfere Waffengesetze.",
    "Der Gouverneur lehnte neue Regeln ab und verwies auf das Recht, Waffen zu tragen.",
    "Im Kongress wollen die Demokraten noch vor der Sommerpause über Hintergrundprüfungen abstimmen.",
    "Viele Familien in der Kleinstadt trauern um ihre Kinder und fragen, wie es weitergehen soll.",
]
AR = [
    "أعلنت الحكومة يوم الثلاثاء عن خطة جديدة لتوسيع شبكة النقل العام في العاصمة.",
    "وقال المسؤولون إن الخطة ستضيف اثني عشر خطا للحافلات وتمد خدمات الترام إلى الميناء.",
    "وينتظر سكان الأحياء الشمالية منذ سنوات تحسين الربط مع وسط المدينة.",
    "وسينشر المجلس جدولا زمنيا للبناء الشهر المقبل على أن تبدأ الأعمال في الربيع.",
]
EN = [
    "The city council approved a new budget for public transport on Tuesday after a long debate.",
    "Officials said the plan would add twelve bus routes and extend tram services to the harbour.",
    "Residents in the northern districts have waited years for better connections to the centre.",
]


def test_text_decides_and_declared_language_fills_in_for_short_text():
    assert language_of("Amoklauf in Texas", " ".join(DE)).code == "de"
    assert language_of("", " ".join(AR)).code == "ar"
    # A German feed carrying English wire copy: the text wins, the declaration is kept.
    wire = language_of("Council approves budget", " ".join(EN), declared="de-DE")
    assert (wire.code, wire.declared) == ("en", "de")
    assert wire.confidence > 0.9
    # Too short to tell: the declared language, with no detector confidence.
    short = language_of("Live", "", declared="FR")
    assert (short.code, short.confidence) == ("fr", None)
    # Files write the language's name as often as its code.
    assert language_of("Live", "", declared="German").code == "de"
    assert language_of("Live", "", declared=" english ").declared == "en"
    assert language_of("Update", "").code is None


def test_a_declared_language_outweighs_a_close_relative_on_short_text():
    # Short text splits the detector between relatives: es 0.66, pt 0.23 for this
    # Portuguese line. A feed that says Portuguese is believed; one that says nothing is not.
    line = "Vídeos do capítulo de segunda-feira da novela"
    assert language_of(line, "", declared="pt-BR").code == "pt"
    assert language_of(line, "").code == "es"
    # The declaration is weighed, not obeyed: English copy in a German feed stays English.
    assert language_of("Council approves budget", " ".join(EN), declared="de").code == "en"
    # All-kanji headlines are Chinese or Japanese alike: the feed decides. Prose in Japanese
    # has kana, so a long text in Han alone is Chinese whatever the feed says.
    assert language_of("東京株式市場大幅反落", "", declared="ja").code == "ja"
    assert language_of("東京株式市場大幅反落", "").code == "zh"
    prose = "国务院常务会议今天决定进一步降低企业融资成本并扩大中小企业贷款规模"
    assert language_of(prose, "", declared="ja").code == "zh"


def test_chinese_and_japanese_headlines_are_told_apart_by_their_script():
    # Short Han-heavy headlines are where the statistical model mixes the two up; a
    # Chinese headline never has kana, and nearly every Japanese one does.
    # fastText alone: ja 0.95, ja 0.79, and zh at 0.14, under the confidence a text needs.
    zh = ["央行下调存款准备金率0.5个百分点", "日本首相访问东南亚三国", "沪指早盘高开 券商板块领涨"]
    ja = [
        "政府、新たな経済対策を閣議決定",
        "東京株式市場で日経平均が大幅反落",
        "台風10号が九州に接近",
    ]
    assert [language_of(t, "", declared="en").code for t in zh] == ["zh"] * 3
    assert [language_of(t, "").code for t in ja] == ["ja"] * 3
    # Too short to tell even by script: the declared language, as for any script.
    assert language_of("速报", "", declared="zh-CN").code == "zh"
    # A mostly-English line quoting a Chinese name is English.
    assert (
        language_of("Shares of 比亚迪 rose after the company reported record sales", "").code
        == "en"
    )


def test_imported_articles_get_language_and_confidence(tmp_path, store):
    from framewatch.importer import import_file

    src = write_jsonl(tmp_path / "a.jsonl", [
        {"title": "Waffengesetz nach Amoklauf", "text": " ".join(DE), "source": "Tagesblatt"},
        {"title": "خطة النقل العام", "text": " ".join(AR), "source": "Al Madina"},
        {"title": "Council budget", "text": " ".join(EN), "source": "Wire", "language": "de"},
        {"title": "Live", "text": "Ticker: 3:1 (2:0)", "source": "Tagesblatt", "language": "de"},
    ])  # fmt: skip
    import_file(store, src)
    rows = store.execute(
        "SELECT title, language, language_confidence, language_declared FROM articles ORDER BY id"
    ).fetchall()
    assert [r[1] for r in rows] == ["de", "ar", "en", "de"]
    assert rows[0][2] > 0.9 and rows[1][2] > 0.9
    assert rows[2][3] == "de"  # what the file said is kept beside the detected language
    assert rows[3][2] is None  # too short to tell: declared, not detected
    # Language is a comparison attribute and a SQL column.
    from framewatch.outlets import attribute_names, attribute_values

    assert "language" in attribute_names(store.con)
    assert attribute_values(store.con, "language") == ["ar", "de", "en"]
    from framewatch.outlets import require_attribute

    assert require_attribute(store.con, "lang") == "language"  # as the search language says it


def test_crawled_german_and_arabic_feeds_store_their_languages(http_server, store, settings):
    from framewatch.crawler.fetch import fetch_due
    from framewatch.sources import add_source

    srv = http_server
    srv.routes["/de/1"] = Route(article_html("Waffengesetz nach Amoklauf", DE))
    srv.routes["/ar/1"] = Route(article_html("خطة جديدة للنقل العام", AR))
    srv.routes["/de/2"] = Route(article_html("Council approves transport budget", EN))
    for lang, items in (("de", [("Amoklauf", "/de/1"), ("Wire", "/de/2")]),
                        ("ar", [("النقل", "/ar/1")])):  # fmt: skip
        body = "".join(
            f"<item><title>{t}</title><link>{srv.url(p)}</link>"
            f"<pubDate>Tue, 10 Nov 2026 08:00:00 GMT</pubDate></item>"
            for t, p in items
        )
        srv.routes[f"/{lang}.xml"] = Route(
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{lang}</title>'
            f"<link>http://news.example/</link><language>{lang}</language>{body}</channel></rss>",
            headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        )
        add_source(store, srv.url(f"/{lang}.xml"), name=f"Feed {lang}")
    report = fetch_due(store, settings)
    assert report.new_articles == 3
    got = dict(store.execute("SELECT url, language FROM articles").fetchall())
    assert got[srv.url("/de/1")] == "de"
    assert got[srv.url("/ar/1")] == "ar"
    assert got[srv.url("/de/2")] == "en"  # the German feed's English article


def test_backfilled_articles_get_language(tmp_path):
    import duckdb
    from typer.testing import CliRunner

    from framewatch.cli import app

    src = write_jsonl(tmp_path / "archive.jsonl", [
        {"title": "Waffengesetz nach Amoklauf", "text": " ".join(DE), "source": "Tagesblatt",
         "published_at": "2026-11-10T08:00:00"},
        {"title": "خطة النقل العام", "text": " ".join(AR), "source": "Al Madina",
         "published_at": "2026-11-10T09:00:00"},
    ])  # fmt: skip
    db = tmp_path / "b.duckdb"
    res = CliRunner().invoke(app, ["--db", str(db), "backfill", str(src)])
    assert res.exit_code == 0, res.output
    con = duckdb.connect(str(db), read_only=True)
    langs = [r[0] for r in con.execute("SELECT language FROM articles ORDER BY id").fetchall()]
    con.close()
    assert langs == ["de", "ar"]


@pytest.mark.skipif(not (DEV / "semeval22_pairs").is_dir(), reason="../shared/dev-data absent")
def test_detection_on_real_articles_in_seven_languages():
    """SemEval-2022 articles (de, en, es, tr, pl, ar, fr) and German GVFC headlines, with the
    language the file states hidden from the detector."""
    seen: dict[str, tuple[str, str]] = {}
    with (DEV / "semeval22_pairs" / "pairs.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            for k in ("1", "2"):
                seen[r["id" + k]] = (r["lang" + k], r["text" + k])
    with (DEV / "gvfc_de_headlines" / "headlines.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            seen[r["id"]] = ("de", r["text"])
    by_lang: dict[str, list[bool]] = {}
    for gold, text in seen.values():
        by_lang.setdefault(gold, []).append(language_of("", text).code == gold)
    rates = {k: sum(v) / len(v) for k, v in by_lang.items()}
    assert len(rates) >= 7
    assert all(r >= 0.97 for r in rates.values()), rates
