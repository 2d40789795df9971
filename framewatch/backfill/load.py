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
from framewatch.backfill.inputs import source_key
from framewatch.backfill.worker import framing_from_json
from framewatch.sources import add_source
from framewatch.store import Store


@dataclass
class LoadCounts:
    new: int = 0
    copies: int = 0  # same text as an article already stored under another URL
    repeats: int = 0  # later captures of an address an earlier capture gave the article of
    embedded: int = 0
    framed: int = 0
    problems: list[str] = field(default_factory=list)


class Loader:
    def __init__(self, store: Store, model: str, jobs: list[FramingJob]):
        self.store, self.model, self.jobs = store, model, jobs
        self.sources: dict[str, int] = {}
        self.counts = LoadCounts()
        self.served: set[str] = set()  # page addresses a capture has given the article of

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
        keep = self._first_captures(rows)
        if not keep:
            return
        good = [rows[i] for i in keep]
        with self.store.transaction():
            articles = []
            for r in good:
                a = {k: r[k] for k in r if k not in ("vector", "dim", "error", "position", "source", "site_url", "address", "repeat") and not k.startswith("framing_")}  # fmt: skip
                a["source_id"] = self._source(r["source"], r["site_url"])
                a["summary"] = None
                articles.append(a)
            new, copies = insert_articles(self.store, articles)
        self.counts.new += len(new)
        self.counts.copies += len(copies)
        ids = self._ids(good)  # position in `good` -> the stored article with this text
        if not ids:
            return
        sub = table.take(pa.array([keep[k] for k in ids], pa.int64()))
        aids = list(ids.values())
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

    def _first_captures(self, rows: list[dict]) -> list[int]:
        """Positions of the rows to store, in order; the others' problems are noted.

        Of the captures of one address, the first that gives an article is stored, the
        later ones dropped (``plan`` keeps repeats since an earlier capture may give
        none). A repeat's failure is not a problem: the first capture's was reported.
        Decided from the analysed partitions alone, in plan order, so a resumed load
        decides the same (``remember`` replays the partitions loaded before)."""
        keep = []
        for i, r in enumerate(rows):
            address, repeat = r.get("address"), r.get("repeat")
            if repeat and (r["error"] or address in self.served):
                self.counts.repeats += 1
            elif r["error"]:
                self.counts.problems.append(f"{r['position']}: {r['error']}")
            else:
                if address:
                    self.served.add(address)
                keep.append(i)
        return keep

    def remember(self, table: pa.Table) -> None:
        """A partition loaded by an earlier run: its addresses that gave an article."""
        if "address" not in table.column_names:  # a plan cut before repeats were kept
            return
        for address, error in zip(table.column("address").to_pylist(),
                                  table.column("error").to_pylist(), strict=True):  # fmt: skip
            if address and not error:
                self.served.add(address)

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
