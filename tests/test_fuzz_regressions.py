"""What fuzzing (`make fuzz`, tests/fuzz/) found, kept fixed: every saved input replays clean."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import targets  # noqa: E402

SAVED = sorted(p for p in (FUZZ / "regressions").glob("*/*") if p.is_file())


@pytest.mark.parametrize("path", SAVED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_saved_fuzz_input_is_handled(path):
    """The parser answers with its own clear error or a result, never a crash or a bad URL."""
    targets.run_one(path.parent.name, path.read_bytes())


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_every_target_takes_its_seeds(name):
    """The seeds are real-shaped inputs the parser reads without any error."""
    fn, _allowed = targets.TARGETS[name]
    for seed in targets.seeds(name):
        fn(seed)  # no error allowed at all on a good input


def test_opml_url_with_a_control_character_is_skipped_not_imported():
    """Found by fuzzing: urlsplit drops leading control characters, so "\\x01https://..."
    was imported as a feed URL that no fetch could use."""
    from framewatch.crawler.opml import parse_opml

    result = parse_opml((FUZZ / "regressions/opml/control-char-before-scheme.opml").read_bytes())
    assert [s.url for s in result.sources] == ["https://news2.example/rss"]
    assert [s.line for s in result.skipped] == [3]
    assert "not an http(s) URL" in result.skipped[0].reason


def test_opml_scheme_case_and_hosts_with_quotes():
    """Found by fuzzing: 'HTTPS://' was kept as written (so the same feed could come in
    twice) and a host such as 'new="rss' was accepted."""
    from framewatch.crawler.opml import parse_opml

    doc = (
        b'<opml version="2.0"><body>\n'
        b'<outline text="A" xmlUrl="HTTPS://news.example/rss"/>\n'
        b'<outline text="A again" xmlUrl="https://news.example/rss"/>\n'
        b'<outline text="B" xmlUrl=\'https://new="rss\'/>\n'
        b"</body></opml>"
    )
    result = parse_opml(doc)
    assert [s.url for s in result.sources] == ["https://news.example/rss"]
    reasons = {s.line: s.reason for s in result.skipped}
    assert "same feed as line 2" in reasons[3]
    assert "not an http(s) URL" in reasons[4]
