"""Reading researchers' labelled files: text and/or title, one frame, several, or none.

Real label sets come from other tools: a `frame` column (one label), a `frames`
column (a JSON list, a list as pandas prints it, `a;b` or `a, b`), an empty set for an
article with none of the frames, columns named as each dataset names them (`Text`,
FrAC's `sentence,label`), and label names that differ from the codebook's ids. Every
problem is reported once, with the offending labels or the file's columns listed, so a
user can fix the file or map them.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from framewatch.analysis.framing.codebook import Codebook
from framewatch.errors import InputError

NONE_LABELS = {"none", ""}  # an explicit "none" is the empty set
# Column names as real datasets write them, matched in any case; the first present wins.
TEXT_COLUMNS = ("text", "sentence", "content", "body")
TITLE_COLUMNS = ("title", "headline")  # also the text of a row without one
# Families of label columns: the first family the file has is read, plural first.
FRAME_COLUMNS = (("frames", "frame"), ("labels", "label"), ("gold",), ("category",))


@dataclass
class LabelledText:
    title: str
    text: str
    frames: list[str]
    language: str | None = None  # the file's `language` column, else detected from the text


def parse_frames(value: object) -> list[str]:
    """A frame id, a list of them (JSON, or as pandas prints one: `['a', 'b']`), or a
    string of them separated by ';' (or, without any ';', by ',')."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        for parse in (json.loads, ast.literal_eval):
            try:
                items = parse(text)
            except (ValueError, SyntaxError, TypeError):
                continue
            if isinstance(items, list | tuple):
                return parse_frames(items)
        text = text[1:-1]  # [a, b]: a list with its quotes lost
    sep = ";" if ";" in text else ","
    parts = (p.strip().strip("'\"").strip() for p in text.split(sep))
    return [p for p in parts if p]


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


def frame_key(name: str) -> str:
    """A label without its spelling: case, spaces, `_`, `-`, punctuation and "and"/"&"
    ignored, so MFC's `Capacity_and_resources` meets the codebook's `capacity_resources`."""
    words = re.findall(r"[^\W_]+", name.casefold().replace("&", " and "))
    return " ".join(w for w in words if w != "and")


def frame_resolver(cb: Codebook, label_map: dict[str, str]) -> Callable[[str], str | None]:
    """label -> frame id ("" for none, None when unknown): the label map first, then the
    id as written, then any frame whose id or label has the same key (unless two do)."""
    known = set(cb.frame_ids)
    owners: dict[str, set[str]] = {}
    for f in cb.frames:
        for name in (f.id, f.label):
            owners.setdefault(frame_key(name), set()).add(f.id)
    by_key = {k: next(iter(ids)) for k, ids in owners.items() if len(ids) == 1}

    def resolve(label: str) -> str | None:
        fid = label_map.get(label, label)
        if fid.lower() in NONE_LABELS:
            return ""
        return fid if fid in known else by_key.get(frame_key(fid))

    return resolve


def _blank(value: object) -> bool:
    """An empty cell: nothing, spaces, or a missing number (NaN) from a data frame."""
    if isinstance(value, float):
        return value != value
    return value is None or (isinstance(value, str) and not value.strip())


def _first(rec: dict, cols: dict[str, str], names: tuple[str, ...]) -> str:
    """The first non-empty value among the columns ``names`` (matched in any case)."""
    for n in names:
        if n in cols and not _blank(rec[cols[n]]):
            return str(rec[cols[n]]).strip()
    return ""


def label_cell(rec: dict, cols: dict[str, str]) -> tuple[bool, object]:
    """(has a label column, its value): the first family of label columns the row has."""
    for family in FRAME_COLUMNS:
        present = [cols[n] for n in family if n in cols]
        if present:
            return True, next((rec[k] for k in present if not _blank(rec[k])), None)
    return False, None


def _no_column(path: Path, line: int, columns: list[str], what: str, names: list[str]) -> str:
    have = ", ".join(columns) or "none"
    return (f"{path} line {line}: no {what} column; the file's columns are {have}; "
            f"{what} is read from {', '.join(names)} (any case)")  # fmt: skip


def _row_labels(raw: object, resolve: Callable[[str], str | None]) -> list[str]:
    """The cell's labels: the whole cell when it names a frame (a label may hold a comma:
    `Legality, constitutionality and jurisprudence`), else its parts."""
    whole = raw.strip() if isinstance(raw, str) else ""
    if whole and not whole.startswith("[") and ";" not in whole and resolve(whole) is not None:
        return [whole]
    return parse_frames(raw)


def read_labelled_file(
    path: Path, cb: Codebook, label_map: dict[str, str] | None = None,
    notes: list[str] | None = None,
) -> list[LabelledText]:  # fmt: skip
    """Rows with text or title and a label column (`frame`, `frames`, `label`, ...); an
    empty value means none, and a line added to ``notes`` says how many rows had one.

    Title and text are read as `framewatch import` stores them (HTML entities as their
    letters, a text's markup as its text), so evaluation and training see what the
    pipeline frames."""
    from framewatch.import_rows import plain_text, unescaped
    from framewatch.importer import read_records

    recs = read_records(path)
    if recs.errors:
        raise InputError(f"{path}: {recs.errors[0]}")
    resolve = frame_resolver(cb, label_map or {})
    unknown: Counter[str] = Counter()
    empty = 0
    out = []
    for line, rec in recs.rows:
        cols = {str(k).strip().lower(): k for k in rec}
        if not any(n in cols for n in TEXT_COLUMNS + TITLE_COLUMNS):
            names = [*TEXT_COLUMNS, *TITLE_COLUMNS]
            raise InputError(_no_column(path, line, recs.columns or list(rec), "text", names))
        title = unescaped(_first(rec, cols, TITLE_COLUMNS))
        text = plain_text(_first(rec, cols, TEXT_COLUMNS))
        if not text and not title:
            raise InputError(f"{path} line {line}: needs a text or title (both are empty)")
        has_labels, raw = label_cell(rec, cols)
        if not has_labels:
            names = [n for family in FRAME_COLUMNS for n in family]
            msg = _no_column(path, line, recs.columns or list(rec), "frame", names)
            raise InputError(f"{msg}; an empty value means none of the frames")
        empty += _blank(raw)
        frames = []
        for label in _row_labels(raw, resolve):
            fid = resolve(label)
            if fid is None:
                unknown[label] += 1
            elif fid and fid not in frames:
                frames.append(fid)
        out.append(LabelledText(title, text or title, frames, _language(rec, cols, title, text)))
    if unknown:
        listed = ", ".join(f"{k!r} ({n})" for k, n in sorted(unknown.items()))
        raise InputError(
            f"{path}: labels not in codebook {cb.id}: {listed}; "
            f"frames are {', '.join(cb.frame_ids)} (map labels with --label-map FILE)"
        )
    if not out:
        raise InputError(f"{path}: no labelled rows")
    if empty and notes is not None:
        notes.append(f"{path}: {empty} of {len(out)} rows have an empty label, taken as none of "
                     "the frames; a row may then have no frame or several: the file is scored as "
                     "multi-label")  # fmt: skip
    return out


def _language(rec: dict, cols: dict[str, str], title: str, text: str) -> str | None:
    """The file's `language` column when it has one (it is the gold), else detected."""
    from framewatch.language import language_of, normalise

    given = _first(rec, cols, ("language",))
    return normalise(given) or language_of(title, text).code


def sample_labelled() -> list[LabelledText]:
    from framewatch.sample_site import load_corpus

    return [LabelledText(a.title, a.text, [a.frame], "en") for a in load_corpus()]
