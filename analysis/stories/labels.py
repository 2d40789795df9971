"""Story labels (c-TF-IDF terms) and representative headlines."""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

from framewatch.config import AnalysisSettings
from framewatch.store import Store
from framewatch.words import HAN_KANA, char_class

LABEL_TERMS = 3
BACKGROUND_STORIES = 400
NEAR_TIE = 1e-4  # cosine similarities closer than this are a tie (float32 noise is ~1e-7)
_TOKEN = r"(?u)\b[^\W\d_][\w\-]*[\w]\b|\b\w+-\d+\b"


# Chinese and Japanese write no spaces: a "word" of the pattern above is a whole clause.
# Their runs give character bigrams and trigrams instead (most words are one to three
# characters, names four), as search indexes do without a dictionary.
_HAN_RUN = re.compile(f"[{char_class(HAN_KANA)}]+")
_HAN_GRAMS = (2, 3, 4)


def _terms(doc: str, words) -> list[str]:
    """A document's terms: words and word pairs; in Han and kana runs, character n-grams."""
    terms = words(_HAN_RUN.sub(" ", doc))
    for run in _HAN_RUN.findall(doc):
        terms += [run[i : i + n] for n in _HAN_GRAMS for i in range(len(run) - n + 1)]
    return terms


def _overlap(term: str, picked: str) -> bool:
    """One inside the other; for Han n-grams any shared character (马拉松比 beside 比赛 is
    a piece of 马拉松比赛, not a word of its own)."""
    if term in picked or picked in term:
        return True
    return bool(_HAN_RUN.fullmatch(term) and _HAN_RUN.fullmatch(picked) and set(term) & set(picked))


def ctfidf_labels(
    docs: list[str], n_terms: int = LABEL_TERMS, languages: list[str | None] | None = None
) -> list[str]:
    """One label per class document: its terms most frequent here and rare elsewhere.

    English function words never count; ``languages`` (one per document, as far as it
    goes) also keeps each document's own language's function words out of its label.
    """
    if not docs:
        return []
    from sklearn.feature_extraction.text import (
        CountVectorizer,
    )  # slow to import: only when labelling

    from framewatch.language import function_words

    words = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), token_pattern=_TOKEN, lowercase=True
    ).build_analyzer()
    vec = CountVectorizer(analyzer=lambda doc: _terms(doc, words))
    try:
        counts = vec.fit_transform(docs)
    except ValueError:  # only stop words
        return ["" for _ in docs]
    # Sparse throughout: a real archive's n-gram vocabulary runs to millions of terms.
    counts = counts.astype(np.float64).tocsr()
    row_words = np.asarray(counts.sum(axis=1)).ravel()
    tf = sparse.diags(1.0 / np.maximum(row_words, 1)) @ counts
    avg_words = row_words.sum() / len(docs)
    idf = np.log1p(avg_words / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1))
    scores = (tf @ sparse.diags(idf)).tocsr()
    vocab = vec.get_feature_names_out()
    # How long a term is, in words: a phrase's words; a Han n-gram counts as n - 1, so
    # 深度求索 is preferred to its pieces when as frequent, as a phrase to its words.
    n_words = np.array([len(t) - 1 if _HAN_RUN.fullmatch(t) else t.count(" ") + 1 for t in vocab])
    labels = []
    for i in range(scores.shape[0]):
        lang = languages[i] if languages and i < len(languages) else None
        own = function_words(lang) if lang != "en" else frozenset()  # en: sklearn's list
        lo, hi = scores.indptr[i], scores.indptr[i + 1]
        cols, vals = scores.indices[lo:hi], scores.data[lo:hi]
        picked: list[str] = []
        # Highest score first; on a tie the phrase before its words, then vocabulary
        # order, so float noise and sort algorithms never decide.
        for j in cols[np.lexsort((cols, -n_words[cols], -vals))]:
            if len(picked) == n_terms:
                break
            term = vocab[j]
            if any(_overlap(term, p) for p in picked) or own.intersection(term.split()):
                continue
            picked.append(term)
        labels.append(" · ".join(picked))
    return labels


# A row without a title (some exports have none) is headlined by its text's opening.
_TITLE = """coalesce(nullif(trim(a.title), ''), CASE WHEN length(trim(a.text)) > 100
    THEN rtrim(left(trim(a.text), 100)) || '…' ELSE trim(a.text) END)"""


def _doc(rows: list[tuple[str, str]]) -> str:
    return "\n".join(f"{t or ''}. {t or ''}. {(x or '')[:1500]}" for t, x in rows)


def main_languages(
    members: list[tuple[int, str | None]], store_counts: dict[str | None, int] | None = None
) -> dict[int, str | None]:
    """Each story's most common language; ties go to the store's more common language,
    then to the code first in alphabetical order.

    A story told in several languages is labelled and headlined in the language most of
    its articles use, so its label is words of one language and its headline readable
    beside them; the story page shows its coverage by language. A story with one German
    and one English article, in a mostly English store, speaks English.
    """
    usual = store_counts or {}
    counts: dict[int, dict[str | None, int]] = {}
    for sid, lang in members:
        c = counts.setdefault(sid, {})
        c[lang] = c.get(lang, 0) + 1
    return {
        sid: min(c, key=lambda k: (-c[k], -usual.get(k, 0), k or "")) for sid, c in counts.items()
    }


def refresh_stories(
    store: Store, story_ids: list[int], model: str, settings: AnalysisSettings
) -> None:
    """Recompute label and headline of the given stories, in chunks of one transaction each."""
    # The store's languages break ties between a story's languages: read once, not per chunk.
    usual = dict(store.execute("SELECT language, count(*) FROM articles GROUP BY 1").fetchall())
    for i in range(0, len(story_ids), 500):
        chunk = story_ids[i : i + 500]
        with store.transaction():
            _refresh(store, chunk, model, usual)


def _refresh(store: Store, story_ids: list[int], model: str, usual: dict) -> None:
    if not story_ids:
        return
    rows = store.execute(
        """SELECT m.story_id, a.id, a.title, a.text, a.language FROM story_members m
           JOIN articles a ON a.id = m.article_id
           WHERE m.story_id IN (SELECT unnest(?))
             AND m.article_id NOT IN (SELECT article_id FROM article_duplicates)""",  # a text once
        [story_ids],
    ).fetchall()
    main = main_languages([(sid, lang) for sid, _aid, _t, _x, lang in rows], usual)
    texts: dict[int, list[tuple[str, str]]] = {}
    for sid, _aid, title, text, lang in rows:
        if lang == main[sid]:  # label and headline speak the story's main language
            texts.setdefault(sid, []).append((title, text))
    # Background: other stories around the same time, so labels say what is distinctive.
    bg = store.execute(
        """SELECT m.story_id, any_value(a.title), string_agg(left(a.text, 600), ' ')
           FROM story_members m JOIN articles a ON a.id = m.article_id
           WHERE m.story_id NOT IN (SELECT unnest(?))
             AND m.story_id IN (SELECT id FROM stories ORDER BY last_seen DESC LIMIT ?)
           GROUP BY m.story_id""",
        [story_ids, BACKGROUND_STORIES],
    ).fetchall()
    ids = [s for s in story_ids if s in texts]
    docs = [_doc(texts[s]) for s in ids] + [f"{t}. {x}" for _, t, x in bg]
    labels = ctfidf_labels(docs, languages=[main[s] for s in ids])[: len(ids)]
    # Headline: the member nearest the story's centroid. Members within NEAR_TIE of the
    # nearest count as equally near (with two members both are, and float32 noise would
    # pick one): among them the earliest article, then the smallest id.
    near = store.execute(
        f"""WITH members AS (
             SELECT m.story_id, m.article_id, {_TITLE} AS title,
                    list_cosine_similarity(e.vector, s.centroid) AS sim,
                    coalesce(a.published_at, a.fetched_at) AS seen_at
             FROM story_members m JOIN stories s ON s.id = m.story_id
             JOIN embeddings e ON e.article_id = m.article_id AND e.model = ?
             JOIN articles a ON a.id = m.article_id
             JOIN (SELECT unnest(?) AS story_id, unnest(?) AS language) ml
               ON ml.story_id = m.story_id AND ml.language IS NOT DISTINCT FROM a.language),
           ranked AS (SELECT *, max(sim) OVER (PARTITION BY story_id) AS best FROM members)
           SELECT story_id, article_id, title FROM ranked WHERE sim >= best - ?
           QUALIFY row_number() OVER (PARTITION BY story_id ORDER BY seen_at NULLS LAST, article_id) = 1""",
        [model, ids, [main[i] for i in ids], NEAR_TIE],
    ).fetchall()
    head = {sid: (aid, title) for sid, aid, title in near}
    updates = [
        (labels[i] or None, head.get(s, (None, None))[1], head.get(s, (None, None))[0], s)
        for i, s in enumerate(ids)
    ]
    if updates:  # every story of the chunk may hold copies only (a story left after a merge)
        store.con.executemany(
            "UPDATE stories SET label = ?, headline = ?, headline_article_id = ? WHERE id = ?",
            updates,
        )
