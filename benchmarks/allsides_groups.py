"""Blind spots on real coverage: how many of the stories we cut one side from are found.

AllSides roundups (../shared/dev-data/allsides_neus_stories) tell each story from left,
center and right outlets. One story in six loses its right-hand article, another in six
its left-hand one; the rest of the pipeline is the real one (import, embed, cluster,
frame). Blind spots are then scored against the cut: on framewatch's own stories, and on
AllSides' grouping (no clustering error), which separates the two sources of misses.

    python -m benchmarks.allsides_groups /tmp/fw-outlets   # builds FOLDER/allsides.duckdb once
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

from typer.testing import CliRunner

from framewatch.analysis.compare.blindspots import find_blind_spots
from framewatch.cli import app
from framewatch.config import CompareSettings
from framewatch.store import open_store

DATA = Path(__file__).resolve().parents[2] / "shared/dev-data/allsides_neus_stories/stories.jsonl"
SIDE = {
    "left": "left",
    "lean left": "left",
    "center": "center",
    "lean right": "right",
    "right": "right",
}


def dropped_side(story: str) -> str | None:
    return {0: "right", 3: "left"}.get(int(story.split("-")[1]) % 6)


def build(folder: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """The store (built once), url -> AllSides story, AllSides story -> side cut."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    kept, cut, outlets = [], {}, {}
    for r in rows:
        side = SIDE.get(r["allsides_bias"])
        outlets[r["source"]] = (r["allsides_bias"], side or "")
        if side and side == dropped_side(r["story"]):
            cut[r["story"]] = side
        else:
            kept.append(r)
    db, cfg = folder / "allsides.duckdb", folder / "allsides.toml"
    if not db.exists():
        (folder / "allsides-dropped.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
        with (folder / "allsides-outlets.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["outlet", "allsides_bias", "side"])
            w.writerows((o, b, s) for o, (b, s) in sorted(outlets.items()))
        cfg.write_text('[analysis]\ncodebooks = ["policy-frames"]\n\n[compare]\nmin_articles = 2\n')
        for args in (["import", str(folder / "allsides-dropped.jsonl")], ["analyze"],
                     ["outlets", "import", str(folder / "allsides-outlets.csv")]):  # fmt: skip
            r = CliRunner().invoke(app, ["--db", str(db), "--config", str(cfg), *args])
            if r.exit_code != 0:
                raise SystemExit(r.output)
    return db, {r["url"]: r["story"] for r in kept}, cut


def score(con, story_of_article: dict[int, str], cut: dict[str, str], cfg: CompareSettings) -> str:
    spots = find_blind_spots(con, "side", cfg)
    members: dict[int, Counter] = defaultdict(Counter)
    for aid, sid in con.execute("SELECT article_id, story_id FROM story_members").fetchall():
        members[sid][story_of_article[aid]] += 1
    right = [s for s in spots if set(s.missing) & {cut.get(a) for a in members[s.story_id]}]
    found = {a for s in spots for a in members[s.story_id] if cut.get(a) in s.missing}
    return (f"{len(spots)} blind spots, {len(right)} name a side we cut "
            f"({len(right) / max(len(spots), 1):.0%}); {len(found)}/{len(cut)} cut stories found "
            f"({len(found) / len(cut):.0%})")  # fmt: skip


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    db, story_of_url, cut = build(folder)
    cfg = CompareSettings(min_articles=2)
    gold = folder / "allsides-gold.duckdb"
    shutil.copy(db, gold)
    with open_store(gold) as st:
        arts = st.execute("SELECT id, url FROM articles").fetchall()
        story_of_article = {aid: story_of_url[url] for aid, url in arts}
        print("framewatch's stories:", score(st.con, story_of_article, cut, cfg))
        use_allsides_grouping(st, story_of_article)
        print("AllSides' grouping:  ", score(st.con, story_of_article, cut, cfg))
    gold.unlink()


def use_allsides_grouping(st, story_of_article: dict[int, str]) -> None:
    """Replace framewatch's stories with AllSides' roundups (no clustering error)."""
    ids = {s: i + 1 for i, s in enumerate(sorted(set(story_of_article.values())))}
    st.execute("DELETE FROM story_members")
    st.execute("DELETE FROM stories")
    st.con.executemany("INSERT INTO story_members (article_id, story_id) VALUES (?, ?)",
                       [(aid, ids[s]) for aid, s in story_of_article.items()])  # fmt: skip
    st.execute(
        """INSERT INTO stories (id, model, headline, first_seen, last_seen, size, outlets, centroid)
           SELECT m.story_id, 'allsides', any_value(a.title), min(coalesce(a.published_at, a.fetched_at)),
                  max(coalesce(a.published_at, a.fetched_at)), count(*), count(DISTINCT a.source_id), [0.0]
           FROM story_members m JOIN articles a ON a.id = m.article_id GROUP BY m.story_id"""
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "allsides-groups"))
