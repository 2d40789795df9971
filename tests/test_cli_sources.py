"""The CLI as a user drives it: sources, OPML, exit codes, clear errors."""

from __future__ import annotations

import pytest
from conftest import Route, rss
from typer.testing import CliRunner

from framewatch.cli import app


@pytest.fixture
def fw(tmp_path, monkeypatch):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text('[crawl]\nallow_hosts = ["127.0.0.1"]\nper_host_delay_s = 0.0\n')
    monkeypatch.setenv("FRAMEWATCH_CONFIG", str(cfg))
    monkeypatch.setenv("FRAMEWATCH_DB", str(tmp_path / "cli.duckdb"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, list(args))

    return invoke


def test_every_subcommand_has_help(fw):
    result = fw("--help")
    assert result.exit_code == 0
    listing = result.output.split("Commands:")[1]
    commands = [line.split()[0] for line in listing.splitlines() if line.startswith("  ")]
    assert {"fetch", "run", "demo", "sources"} <= set(commands)
    for cmd in commands:
        sub = fw(cmd, "--help")
        assert sub.exit_code == 0, cmd
        assert "Usage" in sub.output
        assert "--no-no-" not in sub.output, cmd
        if "Commands:" in sub.output:  # a group: its own commands' options read plainly too
            nested = sub.output.split("Commands:")[1].splitlines()
            for name in [line.split()[0] for line in nested if line.startswith("  ")]:
                leaf = fw(cmd, name, "--help")
                assert leaf.exit_code == 0, (cmd, name)
                assert "--no-no-" not in leaf.output, (cmd, name)


def test_sources_add_discovers_lists_removes_and_round_trips_opml(fw, http_server, tmp_path):
    srv = http_server
    srv.routes["/"] = Route(
        '<html><head><link rel="alternate" type="application/atom+xml" href="/atom"></head></html>'
    )
    srv.routes["/atom"] = Route(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Page News</title>'
        '<link href="http://page.example/"/></feed>',
        headers={"Content-Type": "application/atom+xml"},
    )
    srv.routes["/rss"] = Route(rss([]), headers={"Content-Type": "application/rss+xml"})
    r = fw("sources", "add", srv.url("/"), "--country", "GB", "--language", "en")
    assert r.exit_code == 0, r.output
    assert "discovered" in r.output
    assert fw("sources", "add", srv.url("/rss"), "--name", "Plain RSS").exit_code == 0
    listing = fw("sources", "list").output
    assert "Page News" in listing and "Plain RSS" in listing and srv.url("/atom") in listing

    opml = tmp_path / "out.opml"
    assert fw("sources", "export-opml", str(opml)).exit_code == 0
    assert fw("sources", "remove", "Plain RSS").exit_code == 0
    assert "Plain RSS" not in fw("sources", "list").output
    assert fw("sources", "import-opml", str(opml)).exit_code == 0
    assert "Plain RSS" in fw("sources", "list").output


def test_bad_inputs_get_one_clear_line_and_usage_exit_code(fw, tmp_path, http_server):
    r = fw("sources", "add", "not-a-url")
    assert r.exit_code == 2 and "not an http(s) URL" in r.output
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline")
    r = fw("sources", "import-opml", str(bad))
    assert r.exit_code == 2 and "not valid OPML" in r.output
    r = fw("sources", "remove", "nothing-like-this")
    assert r.exit_code == 2
    http_server.routes["/plain"] = Route("<html><body>no feed here</body></html>")
    r = fw("sources", "add", http_server.url("/plain"))
    assert r.exit_code == 1 and "announces no feed" in r.output
    assert "Traceback" not in r.output
    # A private address is refused unless allowed: the user's to change (2), not a failure.
    r = fw("sources", "add", "http://10.255.255.1/feed.xml")
    assert r.exit_code == 2 and "allow_private_networks" in r.output


def test_fetch_exit_code_reports_partial_failure(fw, http_server):
    srv = http_server
    srv.routes["/gone"] = Route(status=410)
    assert fw("sources", "add", "--no-discover", srv.url("/gone")).exit_code == 0
    r = fw("fetch")
    assert r.exit_code == 3
    assert "HTTP 410" in r.output


def test_sources_from_the_config_file_end_up_in_the_store(fw, tmp_path, monkeypatch):
    cfg = tmp_path / "framewatch.toml"
    cfg.write_text(
        '[crawl]\nallow_hosts = ["127.0.0.1"]\n'
        '[[sources]]\nurl = "https://news.example/rss"\nname = "Config News"\ncountry = "IE"\n'
    )
    listing = fw("sources", "list")
    assert listing.exit_code == 0 and "Config News" in listing.output and "IE" in listing.output
    # Removing it by hand would be undone by the next command, which reads the file again.
    removed = fw("sources", "remove", "Config News")
    assert removed.exit_code == 2 and "comes from the config file" in removed.output
    assert "Config News" in fw("sources", "list").output
    # Taken out of the file, it may be removed: the file no longer brings it back.
    cfg.write_text('[crawl]\nallow_hosts = ["127.0.0.1"]\n')
    assert fw("sources", "remove", "Config News").exit_code == 0
    assert "Config News" not in fw("sources", "list").output
    cfg.write_text('[crawl]\nretries = "many"\n')
    bad = fw("sources", "list")
    assert bad.exit_code == 2 and "crawl.retries: expected an integer" in bad.output
