"""The README's examples run, so the README stays true."""

from __future__ import annotations

import json
import re
import shlex

from conftest import REPO
from typer.testing import CliRunner

from framewatch.cli import app


def readme_examples() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.startswith("framewatch ")]


def test_readme_examples_run_on_the_demo_store(demo_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    examples = readme_examples()
    assert len(examples) >= 8
    for line in examples:
        args = shlex.split(line)[1:]
        args = [str(demo_db) if a == "demo.duckdb" else a for a in args]
        result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (tmp_path / "digest.html").exists()
    assert (tmp_path / "demo-export" / "manifest.json").exists()


def test_readme_states_the_figures_the_code_measures():
    text = (REPO / "README.md").read_text(encoding="utf-8")

    def measured(*args: str) -> dict:
        result = CliRunner().invoke(app, ["eval", *args, "--sample", "--json"])
        assert result.exit_code == 0, f"eval {' '.join(args)}: {result.output}"
        return json.loads(result.stdout)

    stories = measured("stories")
    framing = measured("framing")
    supervised = measured("framing", "--method", "supervised", "--cv", "5")
    assert f"B-cubed F1 **{stories['bcubed_f1']:.2f}**" in text
    assert f"accuracy **{framing['accuracy']:.3f}**" in text
    assert f"macro-F1 **{supervised['macro_f1']:.3f}**" in text
