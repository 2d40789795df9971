"""Analysed partitions into the store: articles, vectors and framings, batch by batch.

Loading is idempotent, which is what makes a killed backfill safe to run again: a row
whose article is already stored is not inserted twice (the crawler's
``insert_articles`` decides, by canonical URL and content hash), and a vector or a
framing is written only for an article that has none yet from this model or method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from framewatch.analysis.embedding.stage import write_embeddings
from framewatch.analysis.embedding.vectors import to_arrow_lists, vectors_from_arrow
from framewatch.analysis.framing.stage import FramingJob
from framewatch.articles import insert_articles
from framewatch.backfill.extract import STUB, WHOLE, capture_rank
from framewatch.backfill.inputs import source_key
from framewatch.backfill.plan import stub_address
from framewatch.backfill.worker import framing_from_json
from framewatch.crawler.text_derived import drop_text_derived
from framewatch.language import with_language
from framewatch.sources import add_source
from framewatch.store import Store

# The columns of an analysed partition that ``Loader.remember`` reads.
REMEMBERED = ("address", "error", "repeat", "extraction", "extraction_note", "canonical_url",
              "source", "content_hash", "stored_stub")  # fmt: skip


@dataclass
class LoadCounts:
    new: int = 0
    copies: int = 0  # same text as an article already stored under another URL
    repeats: int = 0  # later captures of an address (a stub a full capture replaced included)
    embedded: int = 0
    framed: int = 0
    problems: list[str] = field(default_factory=list)


class Loader:
    def __init__(self, store: Store, model: str, jobs: list[FramingJob]):
        self.store, self.model, self.jobs = store, model, jobs
        self.sources: dict[str, int] = {}
        self.counts = LoadCounts()
        # page address -> (what its stored capture gave: a ``capture_rank``, the later
        # capture's once one replaced it; the canonical URLs it may be stored by, the
        # first capture's and each replacing one's; the first capture's outlet and
        # content hash)
        self.served: dict[str, tuple[int, tuple[str, ...], str, str]] = {}
        # (outlet, content hash) of stubs a full capture replaced: a later copy of such a
        # stub (one consent wall over a whole site) stays a copy, as before the
        # replacement, so a partition loaded again decides as it did the first time.
        # With the capture count when it was replaced: a copy captured before the full
        # capture is decided as before it, whichever partition it came in
        self.gone: dict[tuple[str, str], int] = {}
        self.decided = 0  # captures decided so far, in plan order (`remember`'s included)
        self.first_stub: dict[tuple[str, str], str] = {}  # (outlet, hash) -> its 1st address

    def _source(self, name: str, site_url: str | None) -> int:
        key = source_key(name, site_url)
        if key not in self.sources:
            # a site read from an archive, or the same source `import` would make
            self.sources[key] = add_source(self.store, key, name=name, site_url=site_url,
                                           origin="import")  # fmt: skip
        return self.sources[key]

    def load(self, table: pa.Table) -> None:
        """One analysed partition; safe to repeat."""
        rows = table.to_pylist()
        steps, at = self._first_captures(rows)
        if not steps:
            return
        keep: list[int] = []  # rows inserted (or already stored), in order
        replaced: dict[int, int] = {}  # a full row -> the stub's article id it replaced
        new, copies = [], []
        with self.store.transaction():
            batch: list[int] = []
            for i, canon in steps:
                if canon is None:
                    batch.append(i)
                    continue
                # a full capture after a stub already stored (in this partition or an
                # earlier one): the stub's row takes its text. The rows before it go in
                # first, so a stub copying the replaced one's text is decided as it would
                # be with one capture per partition.
                more, also = self._insert(rows, batch, at)
                new, copies, keep, batch = new + more, copies + also, keep + batch, []
                aid = self._replace(rows[i], canon)
                if aid is None:  # the stub was a copy, never stored as its own
                    self.counts.repeats -= 1
                    batch.append(i)
                elif aid > 0:  # a cut page that replaced a stub may be replaced in turn
                    replaced = {k: a for k, a in replaced.items() if a != aid}
                    replaced[i] = aid
            more, also = self._insert(rows, batch, at)
            new, copies, keep = new + more, copies + also, keep + batch
        self.counts.new += len(new)
        self.counts.copies += len(copies)
        pairs = {keep[k]: aid for k, aid in self._ids([rows[i] for i in keep]).items()}
        taken = set(pairs.values())
        pairs.update({i: a for i, a in replaced.items() if a not in taken})
        if not pairs:
            return
        order = sorted(pairs)
        sub = table.take(pa.array(order, pa.int64()))
        aids = [pairs[i] for i in order]
        vecs = vectors_from_arrow(sub.column("vector"), sub.column("dim")[0].as_py())
        todo = self._without(
            "SELECT article_id FROM embeddings WHERE model = ? AND article_id IN (SELECT unnest(?))",
            [self.model, aids],
        )
        if todo:
            pick = [k for k, a in enumerate(aids) if a in todo]
            write_embeddings(self.store, self.model, [(aids[k],) for k in pick], vecs[pick])
            self.counts.embedded += len(pick)
        for j, job in enumerate(self.jobs):
            todo = self._without(
                "SELECT article_id FROM article_framing WHERE codebook_id = ? AND model_version = ? "
                "AND article_id IN (SELECT unnest(?))",
                [job.cb.id, job.version, aids],
            )
            pick = [k for k, a in enumerate(aids) if a in todo]
            if not pick:
                continue
            results = [framing_from_json(sub.column(f"framing_{j}")[k].as_py()) for k in pick]
            rows_t = pa.table({
                "id": pa.array([aids[k] for k in pick], pa.int64()),
                "dim": pa.array([vecs.shape[1]] * len(pick), pa.int32()),
                "vector": to_arrow_lists(vecs[pick] if len(pick) else np.zeros((0, vecs.shape[1]))),
            })  # fmt: skip
            job.write(*job.verdicts(rows_t, results))
            if j == 0:
                self.counts.framed += len(pick)

    def _insert(
        self, table_rows: list[dict], batch: list[int], at: dict[int, int]
    ) -> tuple[list, list]:
        """``insert_articles`` for these rows (``at``: a row's capture count, as
        ``_first_captures`` gives it); the copies of a replaced stub are copies.

        A stub of a URL that already has an article is not stored again: a stub a full
        capture replaced leaves its canonical URL and fingerprint free when the full page
        names another canonical URL, so a partition loaded again after a kill, or the
        same capture in a later backfill, would otherwise store it a second time."""
        rows = [table_rows[k] for k in batch]
        stubs = [r["url"] for r in rows if r.get("address") and _replaceable(r)]
        had = set()
        if stubs:
            had = {u for (u,) in self.store.execute(
                "SELECT url FROM articles WHERE url IN (SELECT unnest(?))", [stubs]
            ).fetchall()}  # fmt: skip
        articles, gone = [], []
        for k, r in zip(batch, rows, strict=True):
            key = (r["source"], r["content_hash"])
            if r.get("address") and _replaceable(r) and r["url"] in had:
                continue  # the address's article is stored (as insert_articles skips it)
            went = self.gone.get(key)
            if went is not None and went < at[k] and self.first_stub[key] != r["address"]:
                gone.append((r, 0))
                continue
            a = {k: r[k] for k in r if k not in ("vector", "dim", "error", "position", "source", "site_url", "address", "repeat", "stored_stub") and not k.startswith("framing_")}  # fmt: skip
            a["source_id"] = self._source(r["source"], r["site_url"])
            a["summary"] = None
            articles.append(a)
        new, copies = insert_articles(self.store, articles)
        return new, copies + gone

    def _first_captures(
        self, rows: list[dict]
    ) -> tuple[list[tuple[int, tuple[str, ...] | None]], dict[int, int]]:
        """Positions of the rows to store, in order, each with None, or for a capture that
        replaces an earlier one, the canonical URLs that one may be stored by; the others' problems are
        noted. With each row's capture count (captures decided so far, in plan order,
        its own included), by position.

        Of the captures of one address, the first that gives an article is stored, with
        the text of the first later one that gives more: a consent wall or paywall stub
        (``extraction = 'stub'``) gives way to a later full capture of the address, and a
        page the crawler cut short to a later whole one; the later capture takes over the
        row (its id, URL and canonical URL), and a stub replaced by a cut page gives way
        again to a whole capture naming the cut page's canonical URL. Every other later capture is
        dropped (``plan`` keeps repeats since an earlier capture may give
        none, or a stub). A repeat's failure is not a problem: the first capture's was
        reported. Decided from the analysed partitions alone, in plan order, so any
        partitioning and a resumed load decide the same (``remember`` replays the
        partitions loaded before)."""
        steps: list[tuple[int, tuple[str, ...] | None]] = []
        at: dict[int, int] = {}
        for i, r in enumerate(rows):
            step = self._decide(r)
            at[i] = self.decided
            if step == "repeat":
                self.counts.repeats += 1
            elif step == "problem":
                self.counts.problems.append(f"{r['position']}: {r['error']}")
            elif step == "keep":
                steps.append((i, None))
            else:  # a full capture after a stub: the stub's row is replaced
                self.counts.repeats += 1
                steps.append((i, step))
        return steps, at

    def _decide(self, r: dict) -> str:
        """'keep', 'repeat', 'problem', or the canonical URLs the stored stub or cut page
        the row replaces may have; ``served`` records what each address has given so far."""
        self.decided += 1
        address, repeat = r.get("address"), bool(r.get("repeat"))
        if r["error"]:
            return "repeat" if repeat else "problem"
        rank = capture_rank(r.get("extraction"), r.get("extraction_note"))
        had = self.served.get(address) if address else None
        stub = r.get("stored_stub")
        if had is None and address and stub:  # the address's stub was stored before this
            had = (
                stub.get("rank") or STUB,
                (stub["canonical_url"],),
                stub["source"],
                stub["content_hash"],
            )
            self.served[address] = had  # backfill: decided as if this backfill stored it
            self.first_stub[had[2:]] = address  # the stub stored, before any in the input
        if had is None:
            if address:
                self.served[address] = (rank, (r["canonical_url"],), r["source"], r["content_hash"])
                if rank < WHOLE:
                    self.first_stub.setdefault((r["source"], r["content_hash"]), address)
            return "keep"
        if rank <= had[0] or not repeat:
            return "repeat"
        if len(had[1]) > 1 and r["canonical_url"] != had[1][-1]:
            # a capture replaced the first already: its canonical URL, taken over, would
            # be free again, and that capture stored as new by a resumed or later run
            return "repeat"
        self.served[address] = (rank, (*had[1], r["canonical_url"]), *had[2:])
        if self.first_stub.get(had[2:]) == address:  # the stub stored, not a copy of it
            self.gone.setdefault(had[2:], self.decided)
        return had[1]

    def remember(self, table: pa.Table) -> None:
        """A partition loaded by an earlier run: what its addresses gave (a full article
        or a stub), decided as its loading decided."""
        if "address" not in table.column_names:  # a plan cut before repeats were kept
            return
        cols = [c for c in REMEMBERED if c in table.column_names]
        for r in table.select(cols).to_pylist():
            r.setdefault("repeat", True)
            for c in ("extraction_note", "canonical_url", "source", "content_hash", "stored_stub"):
                r.setdefault(c, None)
            self._decide(r)

    def _replace(self, row: dict, canons: tuple[str, ...]) -> int | None:
        """The stored stub or cut-short page (by the canonical URL it may have: the first
        capture's, or a later one's that replaced it, the latest first) given ``row``'s
        text, as the crawler's page retries replace a stub's text: same id and URL; the canonical URL
        the full page names, unless another article has it; its vectors, framings and
        search entry, made from the stub's text, are dropped (this load writes the
        row's). Returns the article id; None if the address's stub is not stored under
        that URL (its text or canonical URL was an earlier article's: ``row`` is stored
        as new); 0 if another article has the full text or canonical URL already (the
        stub stays, as the crawler keeps one when its page is another's copy).

        The article keeps the earlier of the two dates: a page is captured after it was
        published, so a later capture's time, or a feed's date against it, is no better;
        a date inferred from when framewatch first saw the article gives way to any."""
        stored = self.store.execute(
            """SELECT a.canonical_url, a.id, a.url, a.extraction, a.extraction_note,
                      a.content_hash, s.name
               FROM articles a LEFT JOIN sources s ON s.id = a.source_id
               WHERE a.canonical_url IN (SELECT unnest(?))""",
            [list(canons)],
        ).fetchall()
        ours = {
            c: rest for c, *rest in stored if stub_address(rest[1]) == stub_address(row["address"])
        }
        got = next((ours[c] for c in reversed(canons) if c in ours), None)
        if got is None:
            return None
        aid, _, extraction, note, digest, outlet = got
        if digest == row["content_hash"]:
            # replaced by a run killed before its marker, or a page cut short after its
            # article ended: the same text, and only the later capture's note is true
            self.store.execute(
                "UPDATE articles SET extraction = ?, extraction_note = ? WHERE id = ?",
                [row["extraction"], row["extraction_note"], aid],
            )
            return aid
        if capture_rank(extraction, note) == WHOLE:
            return 0
        other = self.store.execute(
            """SELECT a.id FROM articles a LEFT JOIN sources s ON s.id = a.source_id
               WHERE a.id <> ? AND (a.canonical_url = ? OR
                     (a.content_hash = ? AND s.name IS NOT DISTINCT FROM ?))""",
            [aid, row["canonical_url"], row["content_hash"], outlet],
        ).fetchone()
        if other is not None:
            return 0
        r = with_language({k: row[k] for k in ("title", "text", "language")})
        self.store.execute(
            """UPDATE articles SET canonical_url = ?, title = ?, author = coalesce(?, author),
                   published_at = CASE WHEN published_at_inferred THEN coalesce(?, published_at)
                                       ELSE least(published_at, ?) END,
                   published_at_inferred = published_at_inferred AND ? IS NULL, language = ?,
                   language_confidence = ?, language_declared = ?,
                   site_name = coalesce(?, site_name), text = ?, word_count = ?,
                   content_hash = ?, extraction = ?, extraction_note = ? WHERE id = ?""",
            [row["canonical_url"], row["title"], row["author"], row["published_at"],
             row["published_at"], row["published_at"], r["language"], r["language_confidence"], r["language_declared"],
             row["site_name"], row["text"], row["word_count"], row["content_hash"],
             row["extraction"], row["extraction_note"], aid],
        )  # fmt: skip
        drop_text_derived(self.store, aid)
        # the page the crawler was still retrying (it timed out or the server failed) is read now
        self.store.execute("DELETE FROM page_retries WHERE article_id = ?", [aid])
        return aid

    def _ids(self, rows: list[dict]) -> dict[int, int]:
        """Row position -> article id, for rows whose canonical URL and text are stored."""
        stored = self.store.execute(
            "SELECT canonical_url, content_hash, id FROM articles WHERE canonical_url IN (SELECT unnest(?))",
            [[r["canonical_url"] for r in rows]],
        ).fetchall()
        by_key = {(c, h): i for c, h, i in stored}
        out: dict[int, int] = {}
        taken: set[int] = set()
        for k, r in enumerate(rows):
            aid = by_key.get((r["canonical_url"], r["content_hash"]))
            if aid is not None and aid not in taken:
                out[k] = aid
                taken.add(aid)
        return out

    def _without(self, sql: str, params: list) -> set[int]:
        """Of ``params[-1]``'s article ids, those the query does not return."""
        have = {r[0] for r in self.store.execute(sql, params).fetchall()}
        return set(params[-1]) - have


def _replaceable(r: dict) -> bool:
    """A capture a later one of its address may replace: a stub or a page cut short."""
    return capture_rank(r.get("extraction"), r.get("extraction_note")) < WHOLE
