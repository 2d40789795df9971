"""Do comparisons hold up? AllSides coverage with real outlet leans and with shuffled ones.

On the store that ``benchmarks.allsides_groups`` builds (one side cut from one story in
three), with framewatch's stories and with AllSides' own grouping:

* framing splits (codebook policy-frames): stories compared, splits that hold up;
* blind spots: candidates (the descriptive rules), those that hold up, cut stories found;
* the same with the ``side`` labels shuffled at random across outlets, 20 times: the
  share of stories listed (the issue's target: at most 5%).

    python -m benchmarks.allsides_stats /tmp/fw-outlets
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from benchmarks.allsides_groups import build, use_allsides_grouping
from framewatch.analysis.compare.blindspots import find_blind_spots
from framewatch.analysis.compare.splits import find_splits
from framewatch.config import CompareSettings
from framewatch.store import open_store

SHUFFLES = 20


def shuffle_sides(con, n: int = SHUFFLES, seed: int = 2026) -> list[str]:
    """Attributes shuffle0.. holding the outlets' sides in a random order each."""
    rows = con.execute(
        "SELECT outlet, value FROM outlet_attributes WHERE attribute = 'side' ORDER BY outlet"
    ).fetchall()
    outlets, values = [r[0] for r in rows], np.array([r[1] for r in rows])
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        name = f"shuffle{i}"
        perm = rng.permutation(values)
        con.executemany(
            "INSERT OR REPLACE INTO outlet_attributes (outlet, attribute, value, origin) "
            "VALUES (?, ?, ?, 'cli')",
            [(o, name, str(v)) for o, v in zip(outlets, perm, strict=True)],
        )
        names.append(name)
    return names


def report(con, label: str, story_of_article: dict[int, str], cut: dict[str, str]) -> None:
    cfg = CompareSettings(min_articles=2)
    members: dict[int, Counter] = defaultdict(Counter)
    for aid, sid in con.execute("SELECT article_id, story_id FROM story_members").fetchall():
        members[sid][story_of_article[aid]] += 1
    stories = con.execute(
        "SELECT count(*) FROM (SELECT x.story_id FROM article_facts x JOIN outlet_attributes oa "
        "ON oa.outlet = x.outlet AND oa.attribute = 'side' WHERE x.story_id IS NOT NULL "
        "GROUP BY 1 HAVING count(*) >= 2)"
    ).fetchone()[0]
    splits = find_splits(con, "side", "policy-frames", cfg, limit=None, evidence_per_group=0)
    held = [s for s in splits if s.holds_up]
    spots = find_blind_spots(con, "side", cfg)
    good = [s for s in spots if s.holds_up]

    def found(ss):
        return len({a for s in ss for a in members[s.story_id] if cut.get(a) in s.missing})

    print(f"{label}: {stories} stories with 2+ articles from outlets with a side")
    print(f"  splits: {len(splits)} stories compared, {len(held)} hold up"
          + "".join(f"\n    story {s.story_id}: {s.divergence_shrunk:.2f} [{s.divergence_interval[0]:.2f}-"
                    f"{s.divergence_interval[1]:.2f}] q={s.q_value:.3f} {s.articles}" for s in held[:5]))  # fmt: skip
    best = sorted(s.p_value for s in splits)[:3]
    print(f"  smallest split p-values: {best}")
    print(f"  blind spots: {len(spots)} candidates ({found(spots)}/{len(cut)} cut stories found), "
          f"{len(good)} hold up ({found(good)}/{len(cut)} found); smallest q "
          f"{min((g.q_value for s in spots for g in s.gaps.values()), default=1):.3f}")  # fmt: skip
    rates = []
    for name in shuffle_sides(con):
        sp = find_splits(con, name, "policy-frames", cfg, limit=None, evidence_per_group=0)
        bs = find_blind_spots(con, name, cfg)
        rates.append((sum(s.holds_up for s in sp), len(sp), sum(s.holds_up for s in bs),
                      len(bs)))  # fmt: skip
    r = np.array(rates, float)
    print(f"  shuffled sides x{SHUFFLES}: splits listed {r[:, 0].mean():.2f} of {r[:, 1].mean():.0f} "
          f"stories compared on average (max {int(r[:, 0].max())}, {(r[:, 0] / r[:, 1]).max():.1%}); "
          f"blind spots listed {r[:, 2].mean():.2f} of {r[:, 3].mean():.0f} candidates "
          f"(max {int(r[:, 2].max())}, {r[:, 2].max() / stories:.1%} of stories)")  # fmt: skip


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    db, story_of_url, cut = build(folder)
    work = folder / "allsides-stats.duckdb"
    for grouping in ("framewatch's stories", "AllSides' grouping"):
        shutil.copy(db, work)
        with open_store(work) as st:
            arts = st.execute("SELECT id, url FROM articles").fetchall()
            story_of_article = {aid: story_of_url[url] for aid, url in arts}
            if grouping.startswith("AllSides"):
                use_allsides_grouping(st, story_of_article)
            report(st.con, grouping, story_of_article, cut)
    work.unlink()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "allsides-groups"))
