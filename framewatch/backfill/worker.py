"""The heavy part of a backfill, one partition at a time: extract, embed, frame.

A ``PartitionWorker`` loads the model once and then turns ``in/part-N.parquet`` into
``out/part-N.parquet``. It never touches the store, so it runs the same in this
process, in a process pool or in a Ray actor on another machine; it needs only the
work folder (shared storage on a cluster). Its output is written under a temporary
name and renamed, so a killed worker leaves no half partition behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from framewatch.analysis.embedding.select import embedder_for
from framewatch.analysis.embedding.stage import embed_rows
from framewatch.analysis.framing.codebook import Codebook
from framewatch.analysis.framing.framers import make_framer
from framewatch.analysis.framing.stage import sentence_encoder
from framewatch.analysis.framing.zeroshot import ArticleFraming
from framewatch.backfill.extract import WHOLE, capture_rank, page_article
from framewatch.config import AnalysisSettings
from framewatch.words import word_count

ARTICLE_FIELDS = (
    "url", "canonical_url", "title", "author", "published_at", "language", "site_name",
    "text", "word_count", "content_hash", "extraction", "extraction_note",
)  # fmt: skip


SUPERSEDED = "an earlier capture of this address gave its full article"


def capture_address(row: dict) -> str | None:
    """A WARC page's address in the form the plan deduplicates by (its ``canonical_url``
    before extraction, which may name another); None for a row, never captured twice.
    The loader keeps the first capture of an address that gives an article, with the
    text of the first that gives a full one (a consent or paywall stub gives way)."""
    return row["canonical_url"] if row["kind"] == "page" else None


@dataclass(frozen=True)
class WorkSpec:
    """Everything a worker needs, picklable: it travels to other machines."""

    folder: str
    settings: AnalysisSettings
    codebooks: tuple[Codebook, ...]
    min_words: int
    threads: int = 0  # torch threads; 0 leaves torch's default

    def input(self, i: int) -> Path:
        return Path(self.folder) / "in" / f"part-{i:05d}.parquet"

    def output(self, i: int) -> Path:
        return Path(self.folder) / "out" / f"part-{i:05d}.parquet"


def framing_to_json(f: ArticleFraming) -> str:
    d = dataclasses.asdict(f)
    d["profile"] = None if f.profile is None else np.asarray(f.profile).tolist()
    return json.dumps(d, default=float)


def framing_from_json(text: str) -> ArticleFraming:
    d = json.loads(text)
    d["evidence"] = {k: [tuple(e) for e in v] for k, v in d["evidence"].items()}
    if d["profile"] is not None:
        d["profile"] = np.asarray(d["profile"], dtype=np.float32)
    return ArticleFraming(**d)


class PartitionWorker:
    """Holds the model and one framer per codebook for the worker's lifetime."""

    def __init__(self, spec: WorkSpec):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        started = time.process_time()
        if spec.threads:
            import torch

            torch.set_num_threads(spec.threads)
        self.spec = spec
        self.model = embedder_for(spec.settings)
        encoder = sentence_encoder(spec.settings)
        self.framers = [make_framer(cb, spec.settings, encoder) for cb in spec.codebooks]
        self.setup_cpu_s = time.process_time() - started  # counted with the first partition

    def __call__(self, index: int) -> dict:
        """Analyse partition ``index``; returns its article count and the CPU it took."""
        started = time.process_time()
        spec = self.spec
        rows = pq.read_table(spec.input(index)).to_pylist()
        out: list[dict] = []
        served: set[str] = set()  # addresses of this partition's pages that gave a full article
        for r in rows:
            a = {k: r.get(k) for k in ARTICLE_FIELDS}
            a.update(position=r["position"], source=r["source"], site_url=r["site_url"],
                     address=capture_address(r), repeat=bool(r.get("repeat")),
                     stored_stub=r.get("stored_stub"))  # fmt: skip
            a["error"] = None
            if a["repeat"] and a["address"] in served:  # not worth extracting, embedding
                a["error"] = SUPERSEDED
            elif r["kind"] == "page":
                page = page_article(
                    r["url"], r["html"], r["published_at"], spec.min_words, r.get("truncated")
                )
                if isinstance(page, str):
                    a["error"] = page
                else:
                    a.update(page)
                    if capture_rank(a["extraction"], a["extraction_note"]) == WHOLE:
                        served.add(a["address"])  # a stub's or cut page's may be whole
            else:
                a.update(word_count=word_count(r["text"]), extraction="imported",
                         extraction_note=r["position"])  # fmt: skip
            out.append(a)
        good = [a for a in out if a["error"] is None]
        vecs = embed_rows(
            self.model, [(i, a["title"], a["text"]) for i, a in enumerate(good)],
            spec.settings.batch_size,
        )  # fmt: skip
        docs = [(a["title"], a["text"]) for a in good]
        framings = [
            [framing_to_json(f) for f in fr.frame_articles(docs)] if docs else []
            for fr in self.framers
        ]
        dim = int(vecs.shape[1]) if len(vecs) else 0
        for a in out:
            a["vector"] = None
            for j in range(len(self.framers)):
                a[f"framing_{j}"] = None
        for k, a in enumerate(good):
            a["vector"] = vecs[k]
            for j in range(len(self.framers)):
                a[f"framing_{j}"] = framings[j][k]
        _write(spec.output(index), out, dim, len(self.framers))
        cpu = time.process_time() - started + self.setup_cpu_s
        self.setup_cpu_s = 0.0
        return {"part": index, "articles": len(good), "cpu_s": cpu}


def _write(path: Path, rows: list[dict], dim: int, n_codebooks: int) -> None:
    cols = {
        k: [r[k] for r in rows] for k in rows[0] if k != "vector" and not k.startswith("framing_")
    }
    table = pa.table({
        **{k: pa.array(v, pa.timestamp("us") if k == "published_at" else None) for k, v in cols.items()},
    })  # fmt: skip
    vec_rows = [r["vector"] for r in rows]
    vectors = pa.array(
        [None if v is None else v.tolist() for v in vec_rows], pa.list_(pa.float32())
    )
    table = table.append_column("vector", vectors).append_column(
        "dim", pa.array([dim] * len(rows), pa.int32())
    )
    for j in range(n_codebooks):
        table = table.append_column(
            f"framing_{j}", pa.array([r[f"framing_{j}"] for r in rows], pa.string())
        )
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
