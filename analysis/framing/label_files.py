"""Reading researchers' labelled files: text and/or title, one frame, several, or none.

Real label sets come from other tools: a `frame` column (one label), a `frames`
column (a JSON list or `a;b`), an empty set for an article with none of the frames,
and label names that differ from the codebook's ids. Every problem is reported
once, with the offending labels listed, so a user can fix the file or map them.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from framewatch.analysis.framing.codebook import Codebook
from framewatch.errors import InputError

NONE_LABELS = {"none", ""}  # an explicit "none" is the empty set


@dataclass
class LabelledText:
    title: str
    text: str
    frames: list[str]
    language: str | None = None  # the file's `language` column, else detected from the text


def parse_frames(value: object) -> list[str]:
    """A frame id, a JSON list of them, or a ';'-separated string."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return parse_frames(json.loads(text))
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in text.split(";") if p.strip()]


def read_label_map(path: Path) -> dict[str, str]:
    """A CSV of `label,frame` rows (a header row naming them is optional)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["label", "frame"]:
        rows = rows[1:]
    out = {}
    for i, r in enumerate(rows, 1):
        if len(r) < 2 or not r[0].strip():
            raise InputError(f"{path} row {i}: needs two columns, label and frame")
        out[r[0].strip()] = r[1].strip()
    return out


def read_labelled_file(
    path: Path, cb: Codebook, label_map: dict[str, str] | None = None
) -> list[LabelledText]:
    """Rows with text or title and a `frame` or `frames` field; an empty value means none.

    Title and text are read as `framewatch import` stores them (HTML entities as their
    letters, a text's markup as its text), so evaluation and training see what the
    pipeline frames."""
    from framewatch.import_rows import plain_text, unescaped
    from framewatch.importer import read_records

    recs = read_records(path)
    if recs.errors:
        raise InputError(f"{path}: {recs.errors[0]}")
    label_map = label_map or {}
    known = set(cb.frame_ids)
    unknown: Counter[str] = Counter()
    out = []
    for line, rec in recs.rows:
        title = unescaped(str(rec.get("title") or "").strip())
        text = plain_text(str(rec.get("text") or "").strip())
        if not text and not title:
            raise InputError(f"{path} line {line}: needs a text or title")
        if "frames" not in rec and "frame" not in rec:
            raise InputError(f"{path} line {line}: needs a frame or frames field (may be empty)")
        raw = rec.get("frames") if rec.get("frames") not in (None, "") else rec.get("frame")
        frames = []
        for label in parse_frames(raw):
            fid = label_map.get(label, label)
            if fid.lower() in NONE_LABELS:
                continue
            if fid not in known:
                unknown[label] += 1
            elif fid not in frames:
                frames.append(fid)
        out.append(LabelledText(title, text or title, frames, _language(rec, title, text)))
    if unknown:
        listed = ", ".join(f"{k!r} ({n})" for k, n in sorted(unknown.items()))
        raise InputError(
            f"{path}: labels not in codebook {cb.id}: {listed}; "
            f"frames are {', '.join(cb.frame_ids)} (map labels with --label-map FILE)"
        )
    if not out:
        raise InputError(f"{path}: no labelled rows")
    return out


def _language(rec: dict, title: str, text: str) -> str | None:
    """The file's `language` column when it has one (it is the gold), else detected."""
    from framewatch.language import language_of, normalise

    return normalise(str(rec.get("language") or "")) or language_of(title, text).code


def sample_labelled() -> list[LabelledText]:
    from framewatch.sample_site import load_corpus

    return [LabelledText(a.title, a.text, [a.frame], "en") for a in load_corpus()]
