"""Awkward input from a newsroom admin and a subscriber: config, logins, the digest."""

from __future__ import annotations

import email
import os
import smtplib
from datetime import date, datetime, timezone
from email import policy

import duckdb
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import free_port
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.config import ConfigError, Settings, Subscriber, load_settings
from framewatch.dashboards import digest as digest_mod
from framewatch.dashboards.digest_data import Digest, StoryItem
from framewatch.journal import journal_records
from framewatch.schedule import ScheduleError, parse_send_at

# -- config ------------------------------------------------------------------------------


def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_bytes("\ufeff[smtp]\r\nport = 587\r\n".encode())  # Notepad: BOM and CRLF
    assert load_settings(cfg).smtp.port == 587


def test_a_misspelt_key_is_named_with_the_key_meant(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text("[analysis]\nstory_treshold = 0.5\n")
    with pytest.raises(ConfigError, match=r"unknown key 'story_treshold' \(did you mean "
                       r"'story_threshold'\?\)$"):  # fmt: skip
        load_settings(cfg)
    cfg.write_text("[smtp]\nfoo = 1\n")  # nothing like it: every key is listed
    with pytest.raises(ConfigError, match=r"unknown key 'foo' \(known: host, password_env"):
        load_settings(cfg)


def test_subscribers_may_have_display_names_but_one_address_each(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    for ok in ['"Zoë Müller" <zoe@example.com>', "Zoë Müller <zoe@example.com>",
               "desk@example.org", "root@localhost"]:  # fmt: skip
        cfg.write_text(f"[[subscribers]]\nemail = '{ok}'\n", encoding="utf-8")
        assert load_settings(cfg).subscribers[0].email == ok
    for bad in ["a@example.org, b@example.org", "a@example.org,b@example.org",
                "a@example.org;b@example.org", "<a@example.org", "ana@", "ana", ""]:  # fmt: skip
        cfg.write_text(f"[[subscribers]]\nemail = '{bad}'\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"subscribers\[0\].email is not an e-mail address"):
            load_settings(cfg)


def test_a_sender_without_an_address_and_zero_timeouts_are_refused_when_read(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text('[smtp]\nsender = "framewatch digest"\n')
    with pytest.raises(ConfigError, match=r"smtp.sender is not an e-mail address"):
        load_settings(cfg)
    cfg.write_text("[dashboard]\nsession_hours = 0\n")
    with pytest.raises(ConfigError, match=r"dashboard.session_hours must be positive"):
        load_settings(cfg)
    cfg.write_text("[smtp]\ntimeout_s = 0\n")
    with pytest.raises(ConfigError, match=r"framewatch.toml: smtp.timeout_s must be positive"):
        load_settings(cfg)


def test_the_dashboard_and_health_on_one_port_are_refused_when_read(tmp_path):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text("[serve]\ndashboard_port = 8502\n")  # health_port's default
    with pytest.raises(ConfigError, match=r"dashboard_port and serve.health_port are both 8502"):
        load_settings(cfg)
    cfg.write_text('[serve]\ndashboard_port = 8502\ndashboard_host = "0.0.0.0"\n')
    with pytest.raises(ConfigError, match=r"give each its own port"):
        load_settings(cfg)
    for fine in ['dashboard_port = 8502\ndashboard = false\n',
                 'dashboard_port = 8502\ndashboard_host = "10.0.0.2"\n']:  # fmt: skip
        cfg.write_text(f"[serve]\n{fine}")
        assert load_settings(cfg).serve.dashboard_port == 8502


def test_a_static_home_under_the_home_folder_is_found_there(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text('[analysis]\nstatic_home = "~/fw-models"\n')
    assert load_settings(cfg).analysis.static_home == str(tmp_path / "home" / "fw-models")
    cfg.write_text("")
    assert load_settings(cfg).analysis.static_home == ""  # empty: beside the store, as before


def test_a_bad_device_from_the_environment_names_the_variable(tmp_path, monkeypatch):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text("")
    monkeypatch.setenv("FRAMEWATCH_DEVICE", "gpu")
    with pytest.raises(ConfigError, match=r"^FRAMEWATCH_DEVICE must be auto, cpu"):
        load_settings(cfg)
    monkeypatch.delenv("FRAMEWATCH_DEVICE")
    cfg.write_text('[analysis]\ndevice = "gpu"\n')
    with pytest.raises(ConfigError, match=r"framewatch.toml: analysis.device must be"):
        load_settings(cfg)


def test_a_mistyped_switch_in_the_environment_is_refused_not_read_as_off(tmp_path, monkeypatch):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text("")
    for value, allowed in [("1", True), ("Yes", True), ("off", False), ("", False)]:
        monkeypatch.setenv("FRAMEWATCH_ALLOW_PRIVATE_NETWORKS", value)
        assert load_settings(cfg).allow_private_networks is allowed
    monkeypatch.setenv("FRAMEWATCH_ALLOW_PRIVATE_NETWORKS", "ture")
    with pytest.raises(ConfigError, match=r"FRAMEWATCH_ALLOW_PRIVATE_NETWORKS must be 1, true"):
        load_settings(cfg)


def test_send_at_takes_day_names_not_words_that_start_like_one():
    assert parse_send_at("Monday 07:00") == ("mon", 7, 0)
    assert parse_send_at("thurs 18:30") == ("thu", 18, 30)
    for bad in ["Monkey 07:00", "Sunny 07:00", "Mo 07:00", "Mon 7pm", "07:00"]:
        with pytest.raises(ScheduleError, match="must be a weekday and a time"):
            parse_send_at(bad)


# -- logins ------------------------------------------------------------------------------


def _users(db, *args, stdin: str | None = None):
    return CliRunner().invoke(app, ["--db", str(db), "users", *args], input=stdin)


def test_a_user_is_removed_by_their_name_in_any_case(tmp_path):
    db = tmp_path / "s.duckdb"
    assert _users(db, "add", "Alice", "--password-stdin", stdin="s3cret-words\n").exit_code == 0
    gone = _users(db, "remove", "alice")  # sign-in and `add` take the name in any case
    assert gone.exit_code == 0 and "removed Alice" in gone.output
    assert _users(db, "list", "--json").output.strip() == "[]"


def test_listing_or_removing_users_of_a_mistyped_store_creates_no_store(tmp_path):
    db = tmp_path / "typo.duckdb"
    for args in (["list"], ["remove", "bob"]):
        r = _users(db, *args)
        assert r.exit_code == 1 and "no store at" in r.output and "Traceback" not in r.output
        assert not db.exists()
    short = _users(db, "add", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "too short" in short.output
    assert not db.exists()  # a refused password leaves no empty store behind


def test_passwd_sets_a_new_password_for_a_user_that_exists(tmp_path):
    from framewatch.users import load_credentials, verify

    db = tmp_path / "s.duckdb"
    assert _users(db, "add", "Alice", "--password-stdin", stdin="old-password\n").exit_code == 0
    taken = _users(db, "add", "alice", "--password-stdin", stdin="new-password\n")
    assert taken.exit_code == 2 and "users passwd alice" in taken.output
    ok = _users(db, "passwd", "alice", "--password-stdin", stdin="new-password\nnew-password\n")
    assert ok.exit_code == 0 and "new password set for Alice" in ok.output
    login = load_credentials(db.with_name("s.duckdb.snapshot"))["alice"]  # what sign-in reads
    assert verify(login.password_hash, "new-password")
    assert not verify(login.password_hash, "old-password")
    for name, stdin, message in [("bob", "new-password\n", "no user 'bob'"),
                                 ("alice", "short\n", "too short")]:  # fmt: skip
        r = _users(db, "passwd", name, "--password-stdin", stdin=stdin)
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output
    missing = _users(tmp_path / "typo.duckdb", "passwd", "alice", "--password-stdin",
                     stdin="new-password\n")  # fmt: skip
    assert missing.exit_code == 1 and not (tmp_path / "typo.duckdb").exists()


def test_a_password_file_ending_in_a_blank_line_is_one_password(tmp_path):
    db = tmp_path / "s.duckdb"
    r = _users(db, "add", "bob", "--password-stdin", stdin="viewer-pass\r\n\r\n")
    assert r.exit_code == 0, r.output
    mismatch = _users(db, "add", "cy", "--password-stdin", stdin="viewer-pass\nother-pass\n\n")
    assert mismatch.exit_code == 2 and "do not match" in mismatch.output


@pytest.mark.parametrize("stdin_errors", ["surrogateescape", "strict"])
def test_a_password_in_another_encoding_is_one_clear_line(tmp_path, stdin_errors):
    import subprocess
    import sys

    db = tmp_path / "s.duckdb"
    env = {**os.environ, "PYTHONIOENCODING": f"utf-8:{stdin_errors}"}
    r = subprocess.run([sys.executable, "-m", "framewatch", "--db", str(db), "users", "add",
                        "latin", "--password-stdin"], input=b"caf\xe9-password\n",
                       capture_output=True, env=env)  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.decode().strip() == (
        "error: password is not UTF-8 text (a file in another encoding?)"
    )


# -- the digest --------------------------------------------------------------------------


def _digest(title: str = "Port Alder bridge") -> Digest:
    story = StoryItem(1, "bridge", title, 2, 2, [], None, None, None,
                      [("Civic Wire", title, "https://civic.example/a")])  # fmt: skip
    return Digest("2026-W47", date(2026, 11, 16), "geopolitics-tech", "Geopolitics", {},
                  stories=[story], total_articles=2)  # fmt: skip


def test_the_plain_part_lists_the_same_links_as_the_html_part():
    d = _digest()
    d.stories[0].links = [(None, None, "https://civic.example/b"),
                          ("Evil", "Click me", "javascript:alert(1)"),
                          ("Wire", "Filed", "urn:wire:123")]  # fmt: skip
    text, page = digest_mod.render_text(d), digest_mod.render_html(d)
    assert "https://civic.example/b (?): https://civic.example/b" in text
    assert "None" not in text
    for hidden in ("javascript:", "Click me", "urn:wire"):
        assert hidden not in text and hidden not in page


def test_a_send_recorded_after_a_line_cut_short_by_a_crash_is_kept(tmp_path):
    from framewatch.journal import append_record, journal_path, sent_already

    db = tmp_path / "s.duckdb"
    journal_path(db).write_text('{"week": "2026-W47", "codebook": "g", "recip')  # killed here
    append_record(db, {"week": "2026-W47", "codebook": "g", "recipient": "ana@example.org",
                       "status": "sent", "at": "2026-11-23T07:00:00"})  # fmt: skip
    assert sent_already(journal_records(db), "2026-W47", "g") == {"ana@example.org"}


def test_journal_lines_edited_by_hand_are_skipped_not_fatal_to_the_merge(tmp_path):
    """A line without a field, or not a record at all, stopped serve's merge of the
    journal into digest_sends with a KeyError after every send."""
    import json

    from framewatch.journal import append_record, journal_path, merge_journal
    from framewatch.store import open_store

    db = tmp_path / "s.duckdb"
    sent = {"week": "2026-W47", "codebook": "g", "recipient": "ana@example.org",
            "status": "sent", "at": "2026-11-23T07:00:00"}  # fmt: skip
    lines = [{"week": "2026-W47", "recipient": "ben@example.org"}, [1, 2], "sent", None,
             {**sent, "recipient": "cy@example.org", "at": "last Monday"}]  # fmt: skip
    journal_path(db).write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    append_record(db, sent)
    assert journal_records(db) == [sent]
    with open_store(db) as store:
        assert merge_journal(store) == 1
        assert store.execute("SELECT recipient FROM digest_sends").fetchall() == [
            ("ana@example.org",)
        ]


def test_an_arabic_headline_is_isolated_in_the_plain_part_too():
    headline = "انهيار جسر الميناء"
    d = _digest(headline)
    d.new_stories = d.stories
    text = digest_mod.render_text(d)
    assert f"1. \u2068{headline}\u2069" in text  # README: isolated "in the digest"
    assert f"bridge — \u2068{headline}\u2069 (2 articles)" in text
    from framewatch.analysis.compare.watches import Report
    from framewatch.dashboards.digest_compare import Comparison, comparison_text

    c = Comparison(by=["lean"], watches=[Report("harbour", "match", 1, headline, "2 articles")])
    assert f"- harbour: new match — \u2068{headline}\u2069 (2 articles)" in comparison_text(c, {})
    assert "Port Alder" in digest_mod.render_text(_digest()) and "\u2068" not in (
        digest_mod.render_text(_digest())
    )  # English text as before


def test_a_week_without_stories_says_so_in_both_parts():
    d = _digest()
    d.stories, d.total_articles = [], 0
    assert "TOP STORIES\nNo stories this week.\n\nFRAMING SHIFTS" in digest_mod.render_text(d)
    assert "<p>No stories this week.</p>" in digest_mod.render_html(d)


def _week_store():
    con = duckdb.connect()
    con.execute("CREATE TABLE article_facts AS SELECT '2026-W47' AS iso_week")
    return con


def _settings(port: int, *emails: str, user: str | None = None) -> Settings:
    s = Settings()
    s.smtp.host, s.smtp.port, s.smtp.user, s.smtp.timeout_s = "127.0.0.1", port, user, 5.0
    s.smtp.sender = '"Redaktion Zürich" <digest@example.org>'
    s.subscribers = [Subscriber(e) for e in emails]
    return s


class _Inbox:
    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.logins: set = set()  # the connections that tried to sign in

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        self.logins.add(session.peer)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def inbox():
    box = _Inbox()
    box.port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticator,
                     auth_require_tls=False)  # fmt: skip
    ctl.start()
    yield box
    ctl.stop()


def test_display_names_and_non_ascii_reach_the_headers_and_the_journal_knows_the_address(
    inbox, tmp_path, monkeypatch
):
    title = "<b>Brücke</b> 🌉 جسر الميناء"
    monkeypatch.setattr(digest_mod, "build_digest", lambda *a, **k: _digest(title))
    db = tmp_path / "s.duckdb"
    settings = _settings(inbox.port, '"Zoë Müller" <zoe@example.com>', "ben@example.org")
    results = digest_mod.deliver(_week_store(), db, settings, "2026-W47", None)
    assert [r.status for r in results] == ["sent", "sent"], results
    assert sorted(r for rs, _ in inbox.messages for r in rs) == [
        "ben@example.org",
        "zoe@example.com",
    ]
    msg = email.message_from_bytes(inbox.messages[0][1], policy=policy.default)
    assert str(msg["To"]) == "Zoë Müller <zoe@example.com>"
    assert str(msg["From"]) == "Redaktion Zürich <digest@example.org>"
    assert title in msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    assert "&lt;b&gt;Brücke&lt;/b&gt; 🌉" in html_part and "<b>Brücke" not in html_part
    # The desk writes Zoë's address without her name: she already has this week's digest.
    settings.subscribers = [Subscriber("ZOE@example.com"), Subscriber("ben@example.org")]
    again = digest_mod.deliver(_week_store(), db, settings, "2026-W47", None)
    assert [r.status for r in again] == ["skipped", "skipped"] and len(inbox.messages) == 2
    assert [r["status"] for r in journal_records(db)] == ["sent", "sent"]


def test_one_address_listed_twice_gets_one_digest_a_run(inbox, tmp_path, monkeypatch):
    monkeypatch.setattr(digest_mod, "build_digest", lambda *a, **k: _digest())
    settings = _settings(
        inbox.port, '"Zoë" <zoe@example.com>', "ben@example.org", "ZOE@example.com"
    )
    results = digest_mod.deliver(_week_store(), tmp_path / "s.duckdb", settings, "2026-W47", None)
    assert [r.status for r in results] == ["sent", "sent", "skipped"], results
    assert len(inbox.messages) == 2


def test_a_refused_login_is_tried_once_per_run_not_once_per_recipient(inbox, tmp_path, monkeypatch):
    monkeypatch.setattr(digest_mod, "build_digest", lambda *a, **k: _digest())
    monkeypatch.setenv("FRAMEWATCH_SMTP_PASSWORD", "wrong")
    emails = [f"desk{i}@example.org" for i in range(5)]
    settings = _settings(inbox.port, *emails, user="digest")
    results = digest_mod.deliver(_week_store(), tmp_path / "s.duckdb", settings, "2026-W47", None)
    assert [r.status for r in results] == ["failed"] * 5
    assert all("SMTPAuthenticationError" in r.error for r in results)
    assert len(inbox.logins) == 1 and inbox.messages == []  # no account locked out by 5 tries


def test_an_unreachable_server_is_tried_once_per_run(tmp_path, monkeypatch):
    monkeypatch.setattr(digest_mod, "build_digest", lambda *a, **k: _digest())
    tries = []
    real = smtplib.SMTP.connect

    def connect(self, *args, **kwargs):
        tries.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", connect)
    settings = _settings(free_port(), "ana@example.org", "ben@example.org", "cy@example.org")
    results = digest_mod.deliver(_week_store(), tmp_path / "s.duckdb", settings, "2026-W47", None)
    assert [r.status for r in results] == ["failed"] * 3
    assert all("ConnectionRefusedError" in r.error for r in results)
    assert len(tries) == 1  # each try could wait timeout_s on a server that does not answer


def test_a_send_from_a_store_without_articles_says_so(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE article_facts (iso_week VARCHAR)")
    con.execute("CREATE TABLE articles (id INTEGER, published_at_inferred BOOLEAN)")
    con.execute("CREATE TABLE article_coverage (article_id INTEGER, day DATE, language VARCHAR)")
    results = digest_mod.deliver(
        con, tmp_path / "s.duckdb", _settings(25, "a@example.org"), None, None
    )
    assert [(r.status, r.error) for r in results] == [
        ("skipped", "no articles in the store yet: nothing sent, and nothing recorded "
                    "(a later send can)")]  # fmt: skip


def test_two_sends_at_once_take_turns_and_send_each_digest_once(inbox, tmp_path, monkeypatch):
    """serve's Monday send and an admin's `digest --send` at the same minute."""
    import asyncio
    import threading

    monkeypatch.setattr(digest_mod, "build_digest", lambda *a, **k: _digest())
    accept = inbox.handle_DATA

    async def slow(server, session, envelope):
        await asyncio.sleep(0.3)
        return await accept(server, session, envelope)

    inbox.handle_DATA = slow
    settings = _settings(inbox.port, "ana@example.org", "ben@example.org")
    db, outcomes = tmp_path / "s.duckdb", []

    def send():
        outcomes.append(digest_mod.deliver(_week_store(), db, settings, "2026-W47", None))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r for rs, _ in inbox.messages for r in rs) == [
        "ana@example.org",
        "ben@example.org",
    ]
    assert sorted(r.status for rs in outcomes for r in rs) == ["sent", "sent", "skipped", "skipped"]


def test_serve_owes_no_digest_to_a_subscriber_whose_address_was_rewritten(tmp_path):
    """The journal says zoe@example.org got the week; the config now writes her as
    "Zoë Müller" <ZOE@example.org>. serve must not take the week as due again."""
    from framewatch.journal import append_record
    from framewatch.pipeline.serve import Service
    from framewatch.schedule import last_digest, week_reported

    cfg = tmp_path / "framewatch.toml"
    cfg.write_text('[[subscribers]]\nemail = "\\"Zoë Müller\\" <ZOE@example.org>"\n'
                   '[digest]\nsend_at = "Mon 07:00"\ntimezone = "UTC"\n')  # fmt: skip
    settings = load_settings(cfg)
    db = tmp_path / "s.duckdb"
    now = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # a Monday, an hour after send_at
    week = week_reported(last_digest("Mon 07:00", "UTC", now))
    service = Service(db, cfg, settings)
    assert service.digest_due(now) == week  # nobody has it yet
    append_record(db, {"week": week, "codebook": settings.analysis.codebooks[0],
                       "recipient": "zoe@example.org", "status": "sent", "at": now.isoformat()})  # fmt: skip
    assert service.digest_due(now) is None


def test_a_send_that_waited_through_a_journal_swap_takes_turns_with_the_new_journal(tmp_path):
    """A restore holds the journal while it swaps the file in. A send that waited on the
    old file used to go ahead beside a send holding the new one: two Monday e-mails."""
    import fcntl
    import threading

    from framewatch.journal import held, journal_path

    if not os.access("/proc/locks", os.R_OK):
        pytest.skip("needs /proc/locks (Linux) to see the send wait")
    db = tmp_path / "fw.duckdb"
    path = journal_path(db)
    path.write_text("", encoding="utf-8")
    restoring = path.open("a", encoding="utf-8")  # what restore holds while it swaps
    fcntl.flock(restoring.fileno(), fcntl.LOCK_EX)
    waited_in, new_in, new_may_leave = threading.Event(), threading.Event(), threading.Event()

    def waiting_send():
        with held(db):
            waited_in.set()

    def new_send():
        with held(db):
            new_in.set()
            new_may_leave.wait(10)

    first = threading.Thread(target=waiting_send)
    first.start()
    _until_blocked_on(os.stat(path).st_ino)  # the send waits on the file being replaced
    swapped = tmp_path / "restored.jsonl"
    swapped.write_text("", encoding="utf-8")
    os.replace(swapped, path)
    second = threading.Thread(target=new_send)
    second.start()
    assert new_in.wait(10)
    restoring.close()  # the restore is done: the waiting send wakes on the old file
    assert not waited_in.wait(1.0), "two sends held the journal at once"
    new_may_leave.set()
    assert waited_in.wait(10)
    first.join(10)
    second.join(10)


def test_held_says_once_that_it_waits_and_only_when_another_holds_the_journal(tmp_path):
    """restore is told (and tells the operator) when it waits for a send; a send that
    finds the journal free says nothing."""
    import fcntl
    import threading
    import time

    from framewatch.journal import held, journal_path

    db = tmp_path / "fw.duckdb"
    told: list[str] = []
    with held(db, on_wait=lambda: told.append("waiting")):
        pass
    assert told == []
    sending = journal_path(db).open("a", encoding="utf-8")  # a send in progress
    fcntl.flock(sending.fileno(), fcntl.LOCK_EX)
    inside = threading.Event()

    def restore():
        with held(db, on_wait=lambda: told.append("waiting")):
            inside.set()

    t = threading.Thread(target=restore)
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not told and time.monotonic() < deadline:
            inside.wait(0.01)
        assert told == ["waiting"] and not inside.is_set()
    finally:
        sending.close()
    assert inside.wait(10)
    t.join(10)
    assert told == ["waiting"]


def _until_blocked_on(inode: int) -> None:
    """Wait until some flock waits on the file ``inode`` (Linux lists waiters in
    /proc/locks with "->")."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open("/proc/locks", encoding="ascii") as fh:
            if any("->" in line and f":{inode} " in line for line in fh):
                return
        time.sleep(0.01)
    raise AssertionError("the send never waited on the journal")
