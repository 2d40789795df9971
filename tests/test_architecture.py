"""The layering rule of DESIGN.md, checked as import-linter contracts (pyproject.toml).

import-linter reads a package from where Python would import it, and our package's
folders are mapped into one namespace by setuptools. So the check runs on a mirror
of the installed layout (framewatch/ with crawler/, analysis/, dashboards/ inside),
built from the same `package-dir` table setuptools installs from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
MAX_LINES = 500


def _mirror(dest: Path) -> Path:
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for package, folder in sorted(mapping.items(), key=lambda kv: kv[0].count(".")):
        shutil.copytree(
            ROOT / folder,
            dest.joinpath(*package.split(".")),
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
    return dest


def _lint(tree: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "250"}  # one line a contract
    return subprocess.run(
        [str(lint), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _plant(tree: Path, module: str, line: str) -> None:
    path = tree.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text("utf-8") + f"\n\ndef _planted():\n    {line}\n", "utf-8")


def test_the_layout_keeps_every_contract(tmp_path):
    result = _lint(_mirror(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # the core reaching up into the crawler, inside a function as the old importer did
        ("framewatch.config", "import framewatch.crawler.feeds", "The core imports nothing"),
        # analysis reaching into the crawler
        ("framewatch.analysis.stories.labels", "from framewatch.crawler import extract",
         "Only the pipeline and backfill"),
        # a loop: the stage imports labels, labels imports the stage
        ("framewatch.analysis.stories.labels", "from framewatch.analysis.stories import stage",
         "No import cycles"),
        # dashboards reaching into the pipeline
        ("framewatch.dashboards.queries", "import framewatch.pipeline.runs",
         "Dashboards read the core"),
    ],
)  # fmt: skip
def test_a_planted_import_breaks_its_contract(tmp_path, module, line, contract):
    tree = _mirror(tmp_path)
    _plant(tree, module, line)
    result = _lint(tree)
    assert result.returncode != 0
    broken = [ln for ln in result.stdout.splitlines() if "BROKEN" in ln]
    assert any(contract in ln for ln in broken), result.stdout


def test_every_core_module_is_under_the_core_contract():
    core = {
        f"framewatch.{p.stem}"
        for p in (ROOT / "framewatch").glob("*.py")
        if p.stem not in ("__init__", "__main__")
    }
    contract = next(
        c
        for c in PYPROJECT["tool"]["importlinter"]["contracts"]
        if c["name"].startswith("The core")
    )
    assert core == set(contract["source_modules"])


def test_no_module_is_over_500_lines():
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    long = {
        f: n
        for f in tracked
        if (ROOT / f).exists()
        and (n := sum(1 for ln in (ROOT / f).read_text("utf-8").splitlines() if ln.strip()))
        > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} non-blank lines: {long}"
