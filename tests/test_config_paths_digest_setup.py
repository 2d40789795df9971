"""Paths in a config file are its own, and a digest no send could deliver is refused early."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_jsonl
from typer.testing import CliRunner

from framewatch.cli import app
from framewatch.config import load_settings

CODEBOOK = """id = "desk-frames"
name = "Our desk's frames"
description = "Two frames a desk wrote for itself."
version = 1

[[frames]]
id = "cost"
label = "Cost"
description = "The story is about what something costs: prices, budgets, bills."
examples = ["The bill will rise by a fifth next year.", "The budget cannot pay for it.",
            "Households will pay more.", "The project ran over its budget."]

[[frames]]
id = "safety"
label = "Safety"
description = "The story is about danger to people."
examples = ["Residents fear the bridge could fall.", "The fire put lives at risk.",
            "Inspectors found the wiring unsafe.", "Doctors warned of a health risk."]
"""


def _folder(tmp_path: Path, config: str) -> Path:
    desk = tmp_path / "desk"
    desk.mkdir()
    (desk / "frames.toml").write_text(CODEBOOK, encoding="utf-8")
    (desk / "framewatch.toml").write_text(config, encoding="utf-8")
    return desk / "framewatch.toml"


def test_relative_paths_are_read_against_the_config_files_folder(tmp_path, monkeypatch):
    config = _folder(tmp_path, '[analysis]\nstatic_home = "models"\nmodel = "our-model"\n'
                              'codebooks = ["frames.toml", "geopolitics-tech"]\n')  # fmt: skip
    (config.parent / "our-model").mkdir()  # a sentence-transformers folder beside the config
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # serve under systemd or cron starts in some other folder
    a = load_settings(config).analysis
    assert Path(a.static_home) == config.parent / "models"
    assert a.codebooks == [str(config.parent / "frames.toml"), "geopolitics-tech"]
    assert Path(a.model) == config.parent / "our-model"
    # A path that works from the working directory stays as written: the model's name is
    # stored with every vector, and another spelling would embed the whole store again.
    (elsewhere / "our-model").mkdir()
    assert load_settings(config).analysis.model == "our-model"


def test_a_codebook_named_by_its_file_is_reported_under_its_id(tmp_path, monkeypatch):
    config = _folder(tmp_path, '[analysis]\ncodebooks = ["frames.toml"]\n')
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "fw.duckdb"
    rows = [{"title": "Bridge repairs will cost the town more", "source": "Civic Wire",
             "published_at": "2026-11-20T10:00:00Z", "url": "https://civic.example/a",
             "text": "The repairs will cost the town a fifth more than planned. " * 4}]  # fmt: skip
    runner = CliRunner()
    base = ["--db", str(db), "--config", str(config)]
    assert (
        runner.invoke(
            app, [*base, "import", str(write_jsonl(tmp_path / "a.jsonl", rows))]
        ).exit_code
        == 0
    )
    r = runner.invoke(app, [*base, "status", "--json"])
    assert '"framing:desk-frames": 1' in r.output, r.output


def _store(tmp_path: Path) -> Path:
    db = tmp_path / "fw.duckdb"
    rows = [{"title": "Harbour bridge closes for repairs", "source": "Civic Wire",
             "published_at": "2026-11-20T10:00:00Z", "url": "https://civic.example/b",
             "text": "The harbour bridge closes for six weeks of repairs. " * 4}]  # fmt: skip
    f = write_jsonl(tmp_path / "b.jsonl", rows)
    assert CliRunner().invoke(app, ["--db", str(db), "import", str(f)]).exit_code == 0
    return db


def test_a_subscriber_to_a_codebook_nobody_frames_with_is_refused_before_sending(tmp_path):
    config = tmp_path / "fw.toml"
    config.write_text('[smtp]\nhost = "127.0.0.1"\nport = 9\n\n[[subscribers]]\n'
                      'email = "ana@example.org"\ncodebook = "policy-frames"\n', encoding="utf-8")  # fmt: skip
    db = _store(tmp_path)
    r = CliRunner().invoke(app, ["--db", str(db), "--config", str(config), "digest", "--send"])
    assert r.exit_code == 2, r.output
    assert "subscribers[0] (ana@example.org)" in r.output and "'policy-frames'" in r.output
    assert "add it to [analysis] codebooks" in r.output
    assert not (tmp_path / "fw.duckdb.digest-sends.jsonl").exists()  # nothing recorded as failed
    config.write_text('[smtp]\nhost = "127.0.0.1"\nport = 9\n\n[[subscribers]]\n'
                      'email = "ana@example.org"\n', encoding="utf-8")  # fmt: skip
    args = ["--db", str(db), "--config", str(config), "digest", "--send"]
    r = CliRunner().invoke(app, [*args, "--codebook", "policy-frames"])
    assert r.exit_code == 2 and "--codebook policy-frames: analyze does not frame" in r.output


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_serve_without_the_smtp_password_stops_at_once_saying_why(tmp_path):
    config = tmp_path / "fw.toml"
    config.write_text('[smtp]\nhost = "127.0.0.1"\nuser = "digest"\npassword_env = "FW_TEST_PW"\n'
                      '\n[serve]\ndashboard = false\nhealth_port = 0\n\n[[subscribers]]\n'
                      'email = "ana@example.org"\n', encoding="utf-8")  # fmt: skip
    db = _store(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "FW_TEST_PW"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "framewatch", "--db", str(db), "--config", str(config), "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail("serve kept running with subscribers no digest could reach")
    assert proc.returncode == 2, output
    assert b"FW_TEST_PW" in output and b"no digest could be sent" in output
