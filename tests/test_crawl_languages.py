"""The crawler on feeds and pages in other scripts: unspaced words, legacy encodings,
and languages as feeds and OPML lists spell them."""

from __future__ import annotations

import json
import random
from datetime import datetime

from conftest import Route, article_html, rss
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.config import Settings
from framewatch.crawler.feeds import parse_feed
from framewatch.crawler.fetch import fetch_due
from framewatch.crawler.opml import parse_opml
from framewatch.sources import add_source
from framewatch.store import open_store
from framewatch.words import word_count

# Real-length news prose: about 460 Chinese and 450 Japanese characters.
ZH = [
    "本市议会周二经过长达六个小时的辩论，以二十三票赞成、九票反对的结果批准了明年的公共交通预算。"
    "根据新预算，市政府将新增十二条公交线路，并把有轨电车服务延伸到港口地区，预计总投资约为四十五亿元。",
    "市交通局局长在会后的记者会上表示，北部各区的居民多年来一直抱怨上下班通勤时间过长，新线路开通后，"
    "从北区到市中心的平均通勤时间有望缩短二十分钟左右。她同时承认，施工期间部分道路将实行临时交通管制。",
    "反对派议员则批评预算过于依赖发行地方债券，认为在经济增长放缓的背景下，这种做法可能加重未来几年的财政负担。"
    "他们要求市政府在下个月公布详细的资金来源和还款计划，并接受独立审计机构的监督。",
    "根据市政府公布的时间表，港口有轨电车延伸工程将于明年春季动工，首批新公交线路计划在今年秋季投入运营。"
    "市政府还表示，将在各区举办公众咨询会，听取居民对站点设置和发车频率的意见。",
    "专家指出，公共交通的改善不仅有助于缓解城市中心的交通拥堵，还能减少碳排放，推动城市实现二零三五年碳达峰的目标。"
    "不过也有学者提醒，票价政策和服务质量同样会影响市民是否愿意放弃私家车出行。",
]
JA = [
    "市議会は火曜日、六時間に及ぶ審議の末、来年度の公共交通予算を賛成二十三、反対九の賛成多数で可決した。"
    "新しい予算では、市はバス路線を十二本増やし、路面電車を港湾地区まで延伸する計画で、総事業費はおよそ四百五十億円に上る見込みだ。",
    "市交通局の局長は閉会後の記者会見で、北部地区の住民は長年にわたり通勤時間の長さに不満を抱いてきたと説明し、"
    "新路線の開業によって北部から中心部までの平均通勤時間が約二十分短縮されるとの見通しを示した。"
    "一方で、工事期間中は一部の道路で交通規制が行われることも認めた。",
    "野党会派の議員らは、予算が地方債の発行に大きく依存している点を批判し、景気の減速が続く中で将来の財政負担が重くなりかねないと指摘した。"
    "そのうえで、来月までに財源と返済計画の詳細を公表し、独立した監査機関の確認を受けるよう市に求めた。",
    "市が公表した日程によると、路面電車の延伸工事は来年春に着工し、最初の新バス路線は今年の秋に運行を始める予定だ。"
    "市は各区で住民説明会を開き、停留所の位置や運行本数について意見を聴くとしている。",
]
ZH_SHORT = ["本市议会周二批准了明年的公共交通预算。"]

RU_TITLE = "Правительство одобрило новый бюджет на общественный транспорт"
RU_ITEMS = [  # (title, summary)
    (
        RU_TITLE,
        "Городской совет во вторник после долгих дебатов утвердил новый бюджет на "
        "общественный транспорт. Чиновники заявили, что план добавит двенадцать автобусных маршрутов.",
    ),
    (
        "Жители северных районов ждут новых маршрутов",
        "Жители северных районов годами ждали лучшего сообщения с центром города, "
        "сообщает городская администрация.",
    ),
]


def _page(title: str, paragraphs: list[str], lang: str) -> Route:
    return Route(article_html(title, paragraphs).replace('lang="en"', f'lang="{lang}"'))


def _rows(store) -> dict[str, tuple]:
    rows = store.execute(
        "SELECT url, title, extraction, extraction_note, word_count FROM articles"
    ).fetchall()
    return {r[0].rsplit("/", 1)[-1]: r[1:] for r in rows}


def test_word_count_counts_unspaced_scripts_by_their_characters():
    assert word_count("The council's budget — passed 23 to 9.") == 7  # a dash is no word
    assert word_count("") == word_count(None) == 0
    han = sum(len(p) for p in ZH)
    assert han / 2 <= word_count("".join(ZH)) <= han / 1.4  # ~1.6 characters a word
    assert word_count("북한의 미사일 발사") == 3  # Korean is spaced
    assert 3 <= word_count("รัฐบาลอนุมัติงบประมาณใหม่") <= 8  # Thai: about four a word
    assert word_count("Tokyo 東京 2026年") == 4


def test_chinese_and_japanese_articles_are_stored_whole_and_one_line_is_a_stub(
    http_server, store, settings
):
    """A full article in a script without spaces is the article, not a stub of a few
    "words"; a one-line page still is a stub, and the feed's summary is kept."""
    srv = http_server
    settings.crawl.min_words = Settings().crawl.min_words  # the real threshold
    srv.routes["/zh"] = _page("市议会批准公共交通新预算", ZH, "zh")
    srv.routes["/ja"] = _page("市議会が公共交通の新予算を承認", JA, "ja")
    srv.routes["/zh-short"] = _page("公共交通预算", ZH_SHORT, "zh")
    items = [
        ("市议会批准公共交通新预算", srv.url("/zh"), "市议会批准了新预算。"),
        ("市議会が公共交通の新予算を承認", srv.url("/ja"), "市議会が予算を承認した。"),
        ("公共交通预算", srv.url("/zh-short"), "市议会批准了预算。"),
    ]
    srv.routes["/feed.xml"] = Route(rss(items), headers={"Content-Type": "application/rss+xml"})
    add_source(store, srv.url("/feed.xml"), name="Loopback Asia")
    assert fetch_due(store, settings).new_articles == 3
    rows = _rows(store)
    for path, paras in (("zh", ZH), ("ja", JA)):
        _, extraction, note, words = rows[path]
        assert (extraction, note) == ("full", None), path
        chars = sum(len(p) for p in paras)
        assert chars / 2.5 <= words <= chars, (path, words)  # not the 6 "words" of split()
    _, extraction, note, _ = rows["zh-short"]
    assert extraction == "feed_summary"
    assert note.startswith("extracted only")


def _fetch_titles(srv, store, settings, feeds: dict[str, tuple[bytes, str]]) -> dict[str, set]:
    """Serve each feed (body, Content-Type), poll them all, and read back the titles."""
    for path, (body, content_type) in feeds.items():
        srv.routes[path] = Route(body, headers={"Content-Type": content_type})
        add_source(store, srv.url(path), name=path)
    report = fetch_due(store, settings)
    assert {s.status for s in report.sources} == {"ok"}, report
    rows = store.execute(
        "SELECT s.name, a.title FROM articles a JOIN sources s ON s.id = a.source_id"
    ).fetchall()
    return {path: {t for name, t in rows if name == path} for path in feeds}


def _feed(srv, path: str, items: list[tuple[str, str]], encoding: str, declared: str | None):
    """RSS of (title, summary) items in ``encoding``, declaring ``declared`` (or nothing)
    in its XML declaration; the links (to no page) are the feed's own."""
    linked = [(t, srv.url(f"{path}/{i}"), s) for i, (t, s) in enumerate(items)]
    decl = f' encoding="{declared}"' if declared else ""
    return rss(linked, title="Новости").replace(' encoding="utf-8"', decl, 1).encode(encoding)


def test_utf8_feed_with_a_wrong_declared_charset_reads_as_utf8(http_server, store, settings):
    srv = http_server
    cp1251 = "application/rss+xml; charset=windows-1251"
    feeds = {
        "/wrong-header": (_feed(srv, "/wrong-header", RU_ITEMS, "utf-8", None), cp1251),
        "/wrong-both": (_feed(srv, "/wrong-both", RU_ITEMS, "utf-8", "windows-1251"), cp1251),
        "/wrong-decl": (
            _feed(srv, "/wrong-decl", RU_ITEMS, "utf-8", "windows-1251"),
            "application/rss+xml",
        ),
    }
    expected = {t for t, _ in RU_ITEMS}
    assert _fetch_titles(srv, store, settings, feeds) == {path: expected for path in feeds}


def test_legacy_encodings_read_whether_declared_or_not(http_server, store, settings):
    """cp1251 declared in the header or the XML declaration reads as before; cp1251, GBK
    and Shift-JIS declared nowhere are detected, not read as Latin-1."""
    srv = http_server
    zh = [("市议会批准公共交通新预算", ZH[0]), ("专家谈交通", ZH[4])]
    ja = [("市議会が公共交通の新予算を承認", JA[0])]
    xml = "application/rss+xml"
    feeds = {
        "/ru-header": (
            _feed(srv, "/ru-header", RU_ITEMS, "cp1251", None),
            f"{xml}; charset=windows-1251",
        ),
        "/ru-decl": (_feed(srv, "/ru-decl", RU_ITEMS, "cp1251", "windows-1251"), "text/xml"),
        "/ru-none": (_feed(srv, "/ru-none", RU_ITEMS, "cp1251", None), xml),
        "/zh-none": (_feed(srv, "/zh-none", zh, "gbk", None), xml),
        "/ja-none": (_feed(srv, "/ja-none", ja, "shift_jis", None), "text/xml"),
    }
    ru = {t for t, _ in RU_ITEMS}
    assert _fetch_titles(srv, store, settings, feeds) == {
        "/ru-header": ru,
        "/ru-decl": ru,
        "/ru-none": ru,
        "/zh-none": {t for t, _ in zh},
        "/ja-none": {t for t, _ in ja},
    }


def test_utf8_with_a_stray_byte_stays_utf8_and_unreadable_bytes_keep_their_entries():
    """A summary cut inside a character leaves one bad byte in a UTF-8 feed: the rest
    stays UTF-8 (not the whole feed read as cp1252). Bytes nothing can read are left to
    feedparser, as before: the entries and their links are kept."""
    items = [("市议会批准公共交通新预算", "http://n.example/1", "摘要" + "预算" * 20)] * 3
    body = rss(items).encode("utf-8").replace("摘".encode(), "摘".encode()[:2], 1)
    titles = {e.title for e in parse_feed(body, "http://n.example/feed.xml").entries}
    assert titles == {"市议会批准公共交通新预算"}
    rnd = random.Random(1)
    noise = bytes(rnd.choice([rnd.randrange(1, 9), rnd.randrange(0x80, 0x100)]) for _ in range(300))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>' + noise
    body += b"</title><item><title>x</title><link>http://n.example/1</link></item></channel></rss>"
    parsed = parse_feed(body, "http://n.example/feed.xml", "application/rss+xml")
    assert [e.url for e in parsed.entries] == ["http://n.example/1"]


# As feeds and OPML lists write a language, and the ISO 639-1 code stored for it.
LANGUAGES = {"Russian": "ru", "ger": "de", "jpn": "ja", "de-DE": "de", "Klingon": None}


def test_feed_languages_are_normalised_to_iso_639_1():
    got = {}
    for written in LANGUAGES:
        xml = rss([("t", "http://n.example/1", "s")]).replace(
            "<channel>", f"<channel><language>{written}</language>", 1
        )
        got[written] = parse_feed(xml.encode(), "http://n.example/feed.xml").language
        doc = {"version": "https://jsonfeed.org/version/1.1", "items": [], "language": written}
        json_language = parse_feed(json.dumps(doc).encode(), "http://n.example/f.json").language
        assert json_language == got[written], written
    assert got == LANGUAGES


def test_opml_languages_are_stored_as_iso_639_1_on_sources_and_outlets(tmp_path):
    outlines = "".join(
        f'<outline type="rss" text="Outlet {i}" xmlUrl="https://o{i}.example/feed"'
        f' language="{written}"/>'
        for i, written in enumerate(LANGUAGES)
    )
    opml_bytes = f'<opml version="2.0"><body>{outlines}</body></opml>'.encode()
    assert [s.language for s in parse_opml(opml_bytes).sources] == list(LANGUAGES.values())
    opml = tmp_path / "list.opml"
    opml.write_bytes(opml_bytes)
    db = tmp_path / "fw.duckdb"
    r = CliRunner().invoke(app, ["--db", str(db), "sources", "import-opml", str(opml)])
    assert r.exit_code == 0, r.output
    store = open_store(db)
    try:
        sources = dict(store.execute("SELECT name, language FROM sources").fetchall())
        outlets = dict(
            store.execute(
                "SELECT outlet, value FROM outlet_attributes WHERE attribute = 'language'"
            ).fetchall()
        )
    finally:
        store.close()
    expected = {f"Outlet {i}": code for i, code in enumerate(LANGUAGES.values())}
    assert sources == expected
    # The outlet's language attribute is the normalised code; an unknown one is not kept.
    assert outlets == {name: code for name, code in expected.items() if code}


def test_dates_written_in_the_feeds_language_are_read():
    # feedparser drops the Russian date and reads the Chinese one as 1 December. A date
    # of digits only, or one relative to today, stays unread: the page's date is asked.
    dates = {
        ("ru", "Пт, 25 окт 2024 10:30:00 +0300"): datetime(2024, 10, 25, 7, 30),
        ("zh", "2024年12月5日 10:30"): datetime(2024, 12, 5, 10, 30),
        ("de", "25. Oktober 2024, 10:30 Uhr"): datetime(2024, 10, 25, 10, 30),
        (None, "2024年12月5日 10:30"): datetime(2024, 12, 5, 10, 30),
        ("en", "Fri, 25 Oct 2024 10:30:00 +0300"): datetime(2024, 10, 25, 7, 30),
        ("en", "01/02/2024 10:00"): None,
        ("en", "Today, 10:00"): None,
        ("en", "no date at all"): None,
    }
    for (language, written), want in dates.items():
        lang = f"<language>{language}</language>" if language else ""
        xml = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{lang}'
               f"<title>n</title><item><title>t</title><link>http://n.example/1</link>"
               f"<pubDate>{written}</pubDate></item></channel></rss>")  # fmt: skip
        entry = parse_feed(xml.encode(), "http://n.example/feed.xml").entries[0]
        assert entry.published_at == want, (language, written)


def test_a_page_whose_charset_only_the_http_header_names_is_read_in_it(
    http_server, store, settings
):
    """A Latin-1 page without a <meta charset> (common on older European sites): the
    header's charset is the page's, not trafilatura's guess ('Z³rich cafķ')."""
    srv = http_server
    paras = [
        "Owners of cafés in Zürich said on Tuesday that their rents had doubled since last "
        "year, and that several of them would have to close before the end of the summer.",
        "The city council promised a meeting with the owners next week but ruled out any "
        "direct financial help, saying that rents were a matter for the landlords to settle.",
    ] * 3
    page = article_html("Rents double for city cafes", paras).replace('<meta charset="utf-8">', "")
    srv.routes["/cafe"] = Route(
        page.encode("latin-1"),
        headers={"Content-Type": "text/html; charset=ISO-8859-1"},
    )
    items = [("Rents double for city cafes", srv.url("/cafe"), "Rents doubled.")]
    srv.routes["/feed.xml"] = Route(rss(items), headers={"Content-Type": "application/rss+xml"})
    add_source(store, srv.url("/feed.xml"), name="Loopback Zürich")
    assert fetch_due(store, settings).new_articles == 1
    text, extraction = store.execute("SELECT text, extraction FROM articles").fetchone()
    assert extraction == "full"
    assert "Owners of cafés in Zürich" in text
