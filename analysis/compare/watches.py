"""Watches: saved queries over stories, reported when something new matches.

A watch matches an article that contains all its words (title or text, any case),
comes from its outlet group (``attribute = value``) and has its frame as primary frame,
each when given. A story matches when one of its articles does. With ``split_by`` a
watch also reports a matched story whose groups frame it apart (divergence at least
``compare.split_threshold``).

``framewatch watch check`` records what it reported in ``watch_reports``, so a match is
reported once. The digest reads a snapshot and cannot write: it reports the matches
whose first matching article falls in its week, and the splits that crossed the
threshold that week, which also reports each one once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from framewatch.config import CompareSettings
from framewatch.errors import InputError
from framewatch.store import Store, utcnow


class WatchError(InputError):
    """A watch that cannot be added or found."""


@dataclass
class Watch:
    id: int
    name: str
    words: list[str]
    attribute: str | None
    value: str | None
    frame_id: str | None
    codebook_id: str | None
    split_by: str | None

    def describe(self) -> str:
        parts = []
        if self.words:
            parts.append("words: " + " ".join(self.words))
        if self.attribute:
            parts.append(f"group: {self.attribute}={self.value}")
        if self.frame_id:
            parts.append(f"frame: {self.frame_id} ({self.codebook_id})")
        if self.split_by:
            parts.append(f"splits by {self.split_by}")
        return "; ".join(parts)


@dataclass
class Report:
    watch: str
    kind: str  # match | split
    story_id: int
    headline: str
    detail: str


_COLUMNS = "id, name, words, attribute, value, frame_id, codebook_id, split_by"


def add_watch(
    store: Store, name: str, *, words: list[str] | None = None, group: str | None = None,
    frame: str | None = None, codebook: str = "geopolitics-tech", split_by: str | None = None,
) -> Watch:  # fmt: skip
    name = " ".join((name or "").split())
    if not name:
        raise WatchError("a watch needs a name")
    words = [w for w in (words or []) if w.strip()]
    attribute = value = None
    if group is not None:
        if "=" not in group or not group.split("=", 1)[0].strip() or not group.split("=", 1)[1]:
            raise WatchError(f"--group must be ATTRIBUTE=VALUE, got {group!r}")
        attribute, value = (p.strip() for p in group.split("=", 1))
    if frame is not None:
        known = store.execute(
            "SELECT 1 FROM frames WHERE codebook_id = ? AND frame_id = ?", [codebook, frame]
        ).fetchone()
        if not known:
            raise WatchError(f"codebook {codebook!r} has no frame {frame!r}")
    if not (words or attribute or frame):
        raise WatchError("a watch needs words, --group or --frame")
    if store.execute("SELECT 1 FROM watches WHERE name = ?", [name]).fetchone():
        raise WatchError(f"a watch named {name!r} exists; remove it first")
    split_by = split_by or attribute
    row = store.execute(
        f"""INSERT INTO watches (name, words, attribute, value, frame_id, codebook_id, split_by, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}""",
        [name, words, attribute, value, frame, codebook, split_by, utcnow()],
    ).fetchone()
    return Watch(*row)


def list_watches(con) -> list[Watch]:
    return [
        Watch(*r) for r in con.execute(f"SELECT {_COLUMNS} FROM watches ORDER BY id").fetchall()
    ]


def remove_watch(store: Store, key: str) -> Watch:
    for w in list_watches(store.con):
        if key in (str(w.id), w.name):
            store.execute("DELETE FROM watch_reports WHERE watch_id = ?", [w.id])
            store.execute("DELETE FROM watches WHERE id = ?", [w.id])
            return w
    raise WatchError(f"no watch {key!r}")


def matching_stories(con, w: Watch, until: date | None = None) -> dict[int, tuple[str, date, int]]:
    """story id -> (headline, day of its first matching article, matching articles)."""
    sql = [
        """SELECT x.story_id, any_value(coalesce(s.headline, '')), min(x.day), count(*)
           FROM article_facts x JOIN articles a ON a.id = x.article_id
           JOIN stories s ON s.id = x.story_id
           WHERE (?::DATE IS NULL OR x.day <= ?::DATE)"""
    ]
    params: list = [until, until]
    for word in w.words or []:
        sql.append("AND contains(lower(coalesce(a.title, '') || ' ' || coalesce(a.text, '')), ?)")
        params.append(word.lower())
    if w.attribute:
        sql.append(
            "AND x.article_id IN (SELECT article_id FROM article_attributes WHERE attribute = ? AND value = ?)"
        )
        params += [w.attribute, w.value]
    if w.frame_id:
        sql.append(
            "AND x.article_id IN (SELECT article_id FROM article_framing WHERE codebook_id = ? AND primary_frame = ?)"
        )
        params += [w.codebook_id, w.frame_id]
    sql.append("GROUP BY x.story_id ORDER BY x.story_id")
    return {sid: (h, d, n) for sid, h, d, n in con.execute(" ".join(sql), params).fetchall()}


def _split(con, w: Watch, story_id: int, cfg: CompareSettings, until: date | None):
    from framewatch.analysis.compare.splits import find_splits

    if not w.split_by:
        return None
    found = find_splits(
        con, w.split_by, w.codebook_id or "geopolitics-tech", cfg, until=until, story=story_id,
        evidence_per_group=0,
    )  # fmt: skip
    return found[0] if found and found[0].divergence >= cfg.split_threshold else None


def _split_detail(s) -> str:
    return f"framing split {s.divergence:.2f} between {s.pair[0]} and {s.pair[1]}"


def check_watches(store: Store, cfg: CompareSettings) -> list[Report]:
    """Everything new since the last check, recorded so it is never reported again."""
    reports: list[Report] = []
    for w in list_watches(store.con):
        done = {
            (sid, kind)
            for sid, kind in store.execute(
                "SELECT story_id, kind FROM watch_reports WHERE watch_id = ?", [w.id]
            ).fetchall()
        }
        for sid, (headline, _day, n) in matching_stories(store.con, w).items():
            if (sid, "match") not in done:
                reports.append(Report(w.name, "match", sid, headline, f"{n} matching article(s)"))
            if (sid, "split") not in done:
                s = _split(store.con, w, sid, cfg, None)
                if s is not None:
                    reports.append(Report(w.name, "split", sid, headline, _split_detail(s)))
        with store.transaction():
            for r in reports:
                if r.watch == w.name:
                    store.execute(
                        "INSERT INTO watch_reports VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [w.id, r.story_id, r.kind, r.detail, utcnow()],
                    )
    return reports


def week_reports(con, week_start: date, cfg: CompareSettings) -> list[Report]:
    """What the digest of the week starting ``week_start`` reports (new that week only)."""
    end, before = week_start + timedelta(days=6), week_start - timedelta(days=1)
    reports: list[Report] = []
    for w in list_watches(con):
        for sid, (headline, day, n) in matching_stories(con, w, until=end).items():
            if week_start <= day <= end:
                reports.append(Report(w.name, "match", sid, headline, f"{n} matching article(s)"))
            now = _split(con, w, sid, cfg, end)
            if now is not None and _split(con, w, sid, cfg, before) is None:
                reports.append(Report(w.name, "split", sid, headline, _split_detail(now)))
    return reports
