"""The weekly digest, delivered to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import json
import shutil
import time
from email import policy
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from conftest import free_port, write_jsonl
from typer.testing import CliRunner

from framewatch.cli import app


class Inbox:
    """aiosmtpd handler: keeps messages, refuses the addresses in ``refuse``."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.arrived: list[float] = []  # time.time() of each message, as it was accepted
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.arrived.append(time.time())
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    inbox.port = port
    yield inbox
    ctl.stop()


@pytest.fixture
def store_copy(hostile_db, tmp_path, monkeypatch):
    """A private copy of the store with a hostile article in the latest week."""
    db = tmp_path / "digest.duckdb"
    shutil.copy(hostile_db, db)
    shutil.copy(str(hostile_db) + ".snapshot", str(db) + ".snapshot")
    monkeypatch.setenv("FRAMEWATCH_DB", str(db))
    return db


def _config(tmp_path, monkeypatch, port, subscribers, outlets=None, languages=None):
    follows = {} if outlets is None else outlets  # email -> the outlets that subscriber follows
    reads = languages or {}  # email -> the languages of that subscriber's digest
    subs = "".join(
        f'\n[[subscribers]]\nemail = "{s}"\n'
        + (f"outlets = {json.dumps(follows[s])}\n" if s in follows else "")
        + (f"languages = {json.dumps(reads[s])}\n" if s in reads else "")
        for s in subscribers
    )
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsender = "framewatch <digest@example.org>"\n{subs}'
    )
    monkeypatch.setenv("FRAMEWATCH_CONFIG", str(cfg))


def _parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def test_digest_is_delivered_as_multipart_with_escaped_hostile_text(
    smtp, store_copy, tmp_path, monkeypatch
):
    _config(tmp_path, monkeypatch, smtp.port, ["ana@example.org", "ben@example.org", "cy@example.org"],
            outlets={"ben@example.org": ["Civic Wire", "The Northern Ledger", "Civic Wyre"]},
            languages={"cy@example.org": ["Spanish"]})  # fmt: skip
    result = CliRunner().invoke(app, ["digest", "--send", "--week", "2026-W47"])
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 3
    rcpts = sorted(r for rs, _ in smtp.messages for r in rs)
    assert rcpts == ["ana@example.org", "ben@example.org", "cy@example.org"]
    msg = _parse(smtp.messages[0][1])
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"].startswith("framewatch digest 2026-W47")
    assert msg["Bcc"] is None and "victim@evil.example" not in str(msg["To"])
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    # The week's top story and its dominant frame's evidence are there, in both parts.
    assert "lithography" in text.lower() and "lithography" in html_part.lower()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "<img src=x" not in html_part and "Evil &lt;img" in html_part
    assert "<script" not in html_part.lower().replace("&lt;script", "")
    assert "http://" in html_part and "<img" not in html_part  # links, no remote images
    # Ben follows two outlets; the group comparisons still cover every outlet, and say so.
    by_rcpt = {rs[0]: _parse(raw).get_body(("plain",)).get_content() for rs, raw in smtp.messages}
    assert "not only the ones this digest follows" in by_rcpt["ben@example.org"]
    assert "not only the ones this digest follows" not in by_rcpt["ana@example.org"]
    # A misspelt outlet in a subscription is named, not silently an empty filter.
    assert "follows 'Civic Wyre', but no outlet has that name" in by_rcpt["ben@example.org"]
    # Cy's desk reads Spanish: none of this English week's stories, and it says why.
    assert "Articles in es only" in by_rcpt["cy@example.org"]
    assert "lithography" not in by_rcpt["cy@example.org"].lower()
    con = duckdb.connect(str(store_copy))
    sends = con.execute("SELECT recipient, status FROM digest_sends ORDER BY 1").fetchall()
    con.close()
    assert sends == [
        ("ana@example.org", "sent"),
        ("ben@example.org", "sent"),
        ("cy@example.org", "sent"),
    ]


def test_refused_recipient_does_not_stop_others_and_rerun_sends_only_to_it(
    smtp, store_copy, tmp_path, monkeypatch
):
    _config(
        tmp_path, monkeypatch, smtp.port, ["ana@example.org", "bad@example.org", "cy@example.org"]
    )
    smtp.refuse = {"bad@example.org"}
    first = CliRunner().invoke(app, ["digest", "--send"])
    assert first.exit_code == 3
    assert "bad@example.org: failed" in first.output and "550" in first.output
    assert sorted(r for rs, _ in smtp.messages for r in rs) == ["ana@example.org", "cy@example.org"]
    smtp.refuse = set()
    smtp.messages.clear()
    second = CliRunner().invoke(app, ["digest", "--send"])
    assert second.exit_code == 0, second.output
    assert [rs for rs, _ in smtp.messages] == [["bad@example.org"]]
    assert "ana@example.org: skipped" in second.output
    third = CliRunner().invoke(app, ["digest", "--send"])
    assert third.exit_code == 0 and len(smtp.messages) == 1  # nothing sent twice


def test_unreachable_smtp_server_is_reported_per_recipient(store_copy, tmp_path, monkeypatch):
    _config(tmp_path, monkeypatch, free_port(), ["ana@example.org"])
    r = CliRunner().invoke(app, ["digest", "--send"])
    # Nobody got it: a failure (1), not a partial success (3).
    assert r.exit_code == 1 and "ana@example.org: failed" in r.output and "Connection" in r.output


def test_a_week_without_articles_is_not_sent_nor_marked_sent(
    smtp, store_copy, tmp_path, monkeypatch
):
    _config(tmp_path, monkeypatch, smtp.port, ["ana@example.org"])
    empty = CliRunner().invoke(app, ["digest", "--send", "--week", "2026-W30"])
    assert (
        empty.exit_code == 0 and "ana@example.org: skipped (no articles in 2026-W30" in empty.output
    )
    assert smtp.messages == []
    # A week with articles still goes out, and the empty one was never locked as sent.
    # ... however its week is spelt
    assert CliRunner().invoke(app, ["digest", "--send", "--week", "2026-w47"]).exit_code == 0
    assert len(smtp.messages) == 1
    assert "skipped (already sent" in CliRunner().invoke(
        app, ["digest", "--send", "--week", "2026-W47"]).output  # fmt: skip


def test_preview_and_eml_files(demo_db, tmp_path):
    html_file, eml_file = tmp_path / "d.html", tmp_path / "d.eml"
    r = CliRunner().invoke(
        app, ["--db", str(demo_db), "digest", "--preview", str(html_file), "--eml", str(eml_file)]
    )
    assert r.exit_code == 0, r.output
    page = html_file.read_text()
    assert "2026-W47" in page and "<script" not in page.lower()
    assert "Framing shifts against last week" in page and "kestrel" in page.lower()
    msg = _parse(eml_file.read_bytes())
    assert {p.get_content_type() for p in msg.walk()} >= {"text/plain", "text/html"}
    older = CliRunner().invoke(
        app, ["--db", str(demo_db), "digest", "--week", "2026-W45", "--preview", str(html_file)]
    )
    assert older.exit_code == 0 and "skagen" in html_file.read_text().lower()
    bad = CliRunner().invoke(
        app, ["--db", str(demo_db), "digest", "--week", "week 47", "--preview", str(html_file)]
    )
    assert bad.exit_code == 2 and "ISO week" in bad.output
    nothing = CliRunner().invoke(app, ["--db", str(demo_db), "digest"])
    assert nothing.exit_code == 2


def test_an_arabic_headline_reads_right_to_left_inside_the_digests_lines(store_copy, tmp_path):
    # Isolated (FSI ... PDI), the Arabic headline reads right to left and the English
    # around it keeps its order: the article count stays after the headline.
    headline = "انهيار جسر الميناء القديم في بورت ألدر"
    rows = [{"title": headline, "source": "Al Mina", "published_at": "2026-11-20T15:00:00Z",
             "language": "ar", "text": "انهار جسر الميناء القديم في المدينة يوم الجمعة. " * 4}]  # fmt: skip
    db = str(store_copy)
    assert CliRunner().invoke(app, ["--db", db, "import", str(write_jsonl(tmp_path / "ar.jsonl", rows))]).exit_code == 0  # fmt: skip
    assert CliRunner().invoke(app, ["--db", db, "analyze"]).exit_code == 0
    page = tmp_path / "d.html"
    r = CliRunner().invoke(
        app, ["--db", db, "digest", "--week", "2026-W47", "--preview", str(page)]
    )
    assert r.exit_code == 0, r.output
    text = page.read_text(encoding="utf-8")
    assert f"\u2068{headline}\u2069" in text


def test_one_undated_row_does_not_move_the_default_week_or_period(
    store_copy, tmp_path, monkeypatch
):
    # An undated row is dated when framewatch first sees it (today); the store's news is
    # from 2026-W47, and that is what the digest and the dashboard open on.
    from streamlit.testing.v1 import AppTest

    undated = [{"title": "Kein Datum", "text": "Ein Artikel ohne Datum.", "source": "Archiv"}]
    db = str(store_copy)
    assert CliRunner().invoke(app, ["--db", db, "import", str(write_jsonl(tmp_path / "u.jsonl", undated))]).exit_code == 0  # fmt: skip
    page = tmp_path / "d.html"
    r = CliRunner().invoke(app, ["--db", db, "digest", "--preview", str(page)])
    assert r.exit_code == 0, r.output
    assert "weekly digest — 2026-W47" in page.read_text(encoding="utf-8")
    monkeypatch.setenv("FRAMEWATCH_DB", db)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboards" / "app.py"),
                           default_timeout=60)  # fmt: skip
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.date_input(key="period").value[1].isoformat() == "2026-11-21"
