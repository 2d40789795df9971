"""Scoring story clustering on rated pairs of articles, within and across languages.

SemEval-2022 Task 8 rates pairs of news articles from 1 (same event) to 4 (unrelated).
A pair rated <= 1.5 should share a story and one rated >= 3.5 should not; pairs in between
are left out, as annotators disagreed. Each pair is clustered as the pipeline would cluster
the two articles arriving together (the online pass and the merges, with the settings in
force), so the figure answers "would framewatch put these two in one story".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from framewatch.config import AnalysisSettings
from framewatch.errors import InputError

PAIR_FIELDS = ("id1", "text1", "id2", "text2", "overall")
# The gold languages: ours, then the official SemEval-2022 Task 8 CSV's.
LANG_FIELDS = (("lang1", "url1_lang"), ("lang2", "url2_lang"))
# A column only a file of rated pairs has, beside `overall` (the official CSV's pair_id).
PAIR_MARKS = ("id1", "id2", "text1", "text2", "pair_id", "url1_lang", "url2_lang")
SAME_AT_MOST, OTHER_AT_LEAST = 1.5, 3.5


@dataclass
class RatedPair:
    id1: str
    text1: str
    lang1: str | None
    id2: str
    text2: str
    lang2: str | None
    overall: float


def _lower(rec: dict) -> dict:
    """The row with its keys in lower case: SemEval's CSV writes `Overall`."""
    return {str(k).strip().lower(): v for k, v in rec.items()}


def is_pair_file(path: Path) -> bool:
    """A file of rated pairs (``id1, text1, id2, text2, overall``, or the official
    SemEval-2022 CSV of ids and URLs) rather than articles."""
    from framewatch.importer import read_records

    recs = read_records(path)
    if not recs.rows:
        return False
    keys = _lower(recs.rows[0][1])
    return "overall" in keys and any(k in keys for k in PAIR_MARKS)


def _no_texts(path: Path, columns: list[str]) -> str:
    """The official CSV names its articles by id and URL only: say what to join in."""
    return (
        f"{path}: rated pairs without the articles' texts (columns: {', '.join(columns)}); "
        "a file like the official SemEval-2022 Task 8 CSV holds only ids and URLs: join the "
        f"article texts in, as columns {', '.join(PAIR_FIELDS)} (lang1, lang2 optional)"
    )


def _rating(value: object) -> float | None:
    """The rating as a number; a decimal comma ("1,5", as German spreadsheets write it) too."""
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        return None


def read_pairs(path: Path) -> list[RatedPair]:
    """The file's pairs; a row without text or with a rating outside 1-4 is an error.

    Column names are matched in any case. ``lang1`` / ``lang2`` (or SemEval's
    ``url1_lang`` / ``url2_lang``) are the file's gold languages when given, else detected.
    Texts are read as `framewatch import` stores them (entities as letters, markup as text),
    so the pairs are clustered as the pipeline would cluster them.
    """
    from framewatch.import_rows import plain_text
    from framewatch.importer import read_records
    from framewatch.language import language_of, normalise

    recs = read_records(path)
    if recs.errors:
        raise InputError(f"{path}: {recs.errors[0]}")
    rows = [(line, _lower(rec)) for line, rec in recs.rows]
    if rows and not any("text1" in r or "text2" in r for _, r in rows):
        raise InputError(_no_texts(path, recs.columns or list(recs.rows[0][1])))
    out = []
    for line, rec in rows:
        missing = [k for k in PAIR_FIELDS if rec.get(k) in (None, "")]
        if missing:
            raise InputError(f"{path} line {line}: no {', '.join(missing)}")
        overall = _rating(rec["overall"])
        if overall is None:
            raise InputError(f"{path} line {line}: overall must be a number from 1 to 4")
        if not 1.0 <= overall <= 4.0:
            raise InputError(f"{path} line {line}: overall must be from 1 to 4, got {overall}")
        t1, t2 = plain_text(str(rec["text1"])), plain_text(str(rec["text2"]))
        l1, l2 = (normalise(next((rec[k] for k in ks if rec.get(k)), None)) for ks in LANG_FIELDS)
        out.append(RatedPair(
            str(rec["id1"]), t1, l1 or language_of("", t1).code,
            str(rec["id2"]), t2, l2 or language_of("", t2).code, overall,
        ))  # fmt: skip
    if not out:
        raise InputError(f"{path}: no rated pairs")
    return out


def _prf(pred: list[bool], gold: list[bool]) -> dict:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"pairs": len(gold), "same_event": sum(gold), "precision": round(prec, 4),
            "recall": round(rec, 4), "f1": round(f1, 4)}  # fmt: skip


def eval_pairs(pairs: list[RatedPair], settings: AnalysisSettings) -> dict:
    """Pairwise precision, recall and F1 of "one story", overall, across languages and by
    language pair."""
    from framewatch.analysis.embedding.select import embedder_for
    from framewatch.analysis.embedding.stage import article_input
    from framewatch.analysis.stories.evaluate import cluster_articles
    from framewatch.store import utcnow

    scored = [p for p in pairs if p.overall <= SAME_AT_MOST or p.overall >= OTHER_AT_LEAST]
    if not scored:
        raise InputError(
            f"no pair rated <= {SAME_AT_MOST} or >= {OTHER_AT_LEAST}: nothing to score"
        )
    texts: dict[str, str] = {}
    for p in scored:
        texts.setdefault(p.id1, p.text1)
        texts.setdefault(p.id2, p.text2)
    ids = list(texts)
    vecs = embedder_for(settings).embed(
        [article_input("", texts[i]) for i in ids], settings.batch_size
    )
    row = {k: j for j, k in enumerate(ids)}
    now = utcnow()
    pred, gold = [], []
    for p in scored:
        a, b = row[p.id1], row[p.id2]
        stories = cluster_articles(vecs[[a, b]], [now, now], settings) if a != b else [0, 0]
        pred.append(stories[0] == stories[1])
        gold.append(p.overall <= SAME_AT_MOST)
    cross = [i for i, p in enumerate(scored) if p.lang1 != p.lang2]
    by_pair: dict[str, list[int]] = {}
    for i, p in enumerate(scored):
        by_pair.setdefault("-".join(sorted((p.lang1 or "?", p.lang2 or "?"))), []).append(i)

    def sub(idx: list[int]) -> dict:
        return _prf([pred[i] for i in idx], [gold[i] for i in idx])

    return {
        "level": "pairs",
        "rated_pairs": len(pairs),
        "skipped_in_between": len(pairs) - len(scored),
        "overall": sub(list(range(len(scored)))),
        "across_languages": sub(cross) if cross else None,
        "by_language_pair": {k: sub(v) for k, v in sorted(by_pair.items())},
        "threshold": settings.story_threshold,
        "model": settings.model,
    }
