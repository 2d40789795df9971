"""The store's migrations and snapshots, and the config file's error messages."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from framewatch.config import ConfigError, load_settings
from framewatch.store import StoreError, _migrations, connect, open_store, schema_version_known


def test_new_store_is_migrated_and_records_its_version(tmp_path):
    db = tmp_path / "s.duckdb"
    with open_store(db) as st:
        assert st.schema_version() == schema_version_known()
        names = {
            r[0] for r in st.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert {"sources", "articles", "runs", "feed_state", "schema_migrations"} <= names
    with open_store(db) as st:  # reopening applies nothing twice
        n = st.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert n == len(_migrations())  # one row per migration file (numbers may have gaps)


def test_newer_store_is_refused_with_a_clear_message(tmp_path):
    db = tmp_path / "s.duckdb"
    open_store(db).close()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_migrations VALUES (999, '999_future.sql', now())")
    con.close()
    with pytest.raises(StoreError, match="schema version 999.*Upgrade framewatch"):
        open_store(db)


def test_a_snapshot_of_an_older_framewatch_is_upgraded_before_it_is_read(tmp_path):
    # After an upgrade, a store that nobody has written yet still has the old snapshot; a
    # reader must not query the old views (no article_facts.language) and fail.
    import os

    from framewatch.store import snapshot_path

    db = tmp_path / "s.duckdb"
    with open_store(db) as st:
        st.execute("INSERT INTO sources (url, name) VALUES ('https://a.example/feed', 'A')")
        st.publish_snapshot()
    snap = snapshot_path(db)
    with duckdb.connect(str(snap)) as old:  # as the framewatch before migration 015 left it
        old.execute("DELETE FROM schema_migrations WHERE version >= 15")
        old.execute(
            "CREATE OR REPLACE VIEW article_facts AS SELECT a.id AS article_id, a.title "
            "FROM articles a"
        )
    os.utime(snap, (db.stat().st_mtime + 60, db.stat().st_mtime + 60))  # not stale by time
    for sandbox in (False, True):
        con = connect(db, sandbox=sandbox)
        try:
            assert con.execute("SELECT language FROM article_facts").fetchall() == []
            n = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
            assert n == schema_version_known()
        finally:
            con.close()


def test_a_store_from_before_copies_per_outlet_keeps_its_articles_and_takes_wire_copies(
    tmp_path,
):
    # Migration 017 rebuilds `articles` (a text was unique in the whole store; now per
    # outlet): nothing stored before is lost, ids go on from where they were.
    from framewatch.articles import content_hash, insert_articles
    from framewatch.store import _migrations

    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as old:
        old.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMP NOT NULL)"
        )
        for version, name, sql in _migrations():
            if version < 17:
                old.execute(sql)
                old.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
        old.execute(
            "INSERT INTO sources (id, url, name) VALUES (1, 'import:A', 'A'), (2, 'import:B', 'B')"
        )
        old.execute(
            "INSERT INTO articles (source_id, url, canonical_url, title, text, content_hash,"
            " extraction, language) VALUES (1, 'u:1', 'u:1', 'T', 'wire text', ?, 'imported', 'en')",
            [content_hash("wire text")],
        )
        # a row imported without a URL, as the framewatch before named it
        h = content_hash("Row\nrow text")
        urn = f"urn:framewatch:import:{h[:24]}"
        old.execute(
            "INSERT INTO articles (source_id, url, canonical_url, title, text, content_hash,"
            " extraction) VALUES (1, ?, ?, 'Row', 'row text', ?, 'imported')",
            [urn, urn, h],
        )
        # B's copy of A's text was logged and never fetched; A's own repeat too
        old.execute(
            "INSERT INTO crawl_log (url, source_id, outcome, article_id) VALUES"
            " ('https://b.example/wire', 2, 'exact_duplicate', 1),"
            " ('https://a.example/wire-again', 1, 'exact_duplicate', 1)"
        )
    row = {"url": "u:2", "canonical_url": "u:2", "title": "T", "text": "wire text",
           "content_hash": content_hash("wire text"), "extraction": "imported",
           "published_at": None, "language": "en"}  # fmt: skip
    with open_store(db) as st:
        assert st.execute("SELECT id, title, text FROM articles ORDER BY id").fetchall() == [
            (1, "T", "wire text"), (2, "Row", "row text")]  # fmt: skip
        # B's copy is fetched at the next poll; A's repeat stays logged
        assert st.execute("SELECT url FROM crawl_log").fetchall() == [
            ("https://a.example/wire-again",)
        ]
        from framewatch.importer import import_file

        f = tmp_path / "rows.jsonl"
        f.write_text('{"title": "Row", "text": "row text", "source": "A"}\n')
        added, stored_before, errors, notes = import_file(st, f)
        # the same row, not a copy to report (the file's only note: it has no dates)
        assert (added, stored_before, errors) == (0, 1, [])
        assert [n for n in notes if "no row has a date" not in n] == []
        with st.transaction():
            new, copies = insert_articles(st, [{**row, "source_id": 2}])
            again, copy = insert_articles(st, [{**row, "url": "u:3", "canonical_url": "u:3",
                                                "source_id": 1}])  # fmt: skip
        assert [aid for _, aid in new] == [3] and again == [] and [a for _, a in copy] == [1]


WRITER = """
import sys
from framewatch.store import open_store
st = open_store(sys.argv[1])
st.execute("INSERT INTO sources (url, name) VALUES ('http://a.example/f', 'A')")
st.publish_snapshot()
st.execute("BEGIN TRANSACTION")
st.execute("INSERT INTO sources (url, name) VALUES ('http://b.example/f', 'B')")
print("ready", flush=True)
sys.stdin.read()
st.execute("COMMIT")
st.publish_snapshot()
print("committed", flush=True)
"""


@pytest.fixture
def writer(tmp_path):
    """Another process holding the store open for writing, mid-transaction."""
    db = tmp_path / "s.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    yield db, proc
    proc.kill()
    proc.wait()


def test_readers_use_a_snapshot_and_never_see_half_a_batch(writer):
    db, proc = writer
    reader = connect(db)
    assert reader.execute("SELECT count(*) FROM sources").fetchone()[0] == 1
    reader.close()
    proc.stdin.close()
    assert proc.stdout.readline().strip() == "committed"
    proc.wait()
    reader = connect(db)
    assert reader.execute("SELECT count(*) FROM sources").fetchone()[0] == 2
    reader.close()


def test_second_writer_waits_then_gets_a_clear_error(writer):
    db, _ = writer
    with pytest.raises(StoreError, match="being written by another framewatch process"):
        open_store(db, lock_timeout_s=0.3)


def test_config_syntax_error_names_file_and_line(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text("[crawl]\ntimeout_s = 5\nretries = = 3\n")
    with pytest.raises(ConfigError, match=r"framewatch.toml.*line 3"):
        load_settings(cfg)


def test_config_unknown_key_and_wrong_type_are_named(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text("[crawl]\ntimeout = 5\n")
    with pytest.raises(ConfigError, match="unknown key 'timeout'"):
        load_settings(cfg)
    cfg.write_text("[crawl]\nretries = 'three'\n")
    with pytest.raises(ConfigError, match="crawl.retries: expected an integer"):
        load_settings(cfg)
    cfg.write_text('[[sources]]\nurl = "ftp://x"\n')
    with pytest.raises(ConfigError, match=r"sources\[0\].url must be an http"):
        load_settings(cfg)
    # Every message names the file, top-level keys included; values that would only fail
    # later (a port serve cannot bind, a recipient that is no address) fail here.
    for text, message in [
        ("alow_private_networks = true\n", r"framewatch.toml: unknown key 'alow_private"),
        ('[serve]\nhealth_port = "8502"\n', r"framewatch.toml: serve.health_port: expected an int"),
        (
            "[serve]\ndashboard_port = 99999\n",
            r"framewatch.toml: serve.dashboard_port must be a port",
        ),
        ("[serve]\nstale_after_polls = 0\n", r"serve.stale_after_polls must be positive"),
        ("[digest]\ncatch_up_hours = -1\n", r"digest.catch_up_hours must be 0 or more"),
        ('[[subscribers]]\nemail = "not-an-email"\n', r"subscribers\[0\].email is not an e-mail"),
    ]:
        cfg.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_settings(cfg)
    # Two unnamed feeds on one host are one outlet: if they disagree on its lean, say so.
    cfg.write_text('[[sources]]\nurl = "https://feeds.example/a.xml"\nlean = "left"\n'
                   '[[sources]]\nurl = "https://feeds.example/b.xml"\nlean = "right"\n')  # fmt: skip
    with pytest.raises(ConfigError, match=r"sources\[0\] and sources\[1\] are both the outlet "
                       r"'feeds.example' \(a source without a name is named after its host\)"):  # fmt: skip
        load_settings(cfg)
    cfg.write_text('[[sources]]\nurl = "https://feeds.example/a.xml"\nlean = "left"\n'
                   '[[sources]]\nurl = "https://feeds.example/b.xml"\nname = "B"\nlean = "right"\n')  # fmt: skip
    assert len(load_settings(cfg).sources) == 2
    cfg.write_text('[[subscribers]]\nemail = "root@localhost"\n[serve]\nhealth_port = 0\n')
    loaded = load_settings(cfg)  # health_port 0: any free port (the soak's serves use it)
    assert loaded.subscribers[0].email == "root@localhost" and loaded.serve.health_port == 0


def test_config_sources_and_env_override(tmp_path, monkeypatch):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(
        '[[sources]]\nurl = "https://news.example/feed"\nname = "News"\ncountry = "GB"\n'
    )
    monkeypatch.setenv("FRAMEWATCH_ALLOW_PRIVATE_NETWORKS", "1")
    s = load_settings(cfg)
    assert s.sources[0].name == "News" and s.allow_private_networks is True
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
