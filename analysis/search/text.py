"""Text as the search index sees it: whole words, case- and accent-folded, in any script.

The same folding runs on the indexed texts and on the query, so ``Müller`` finds
``muller`` and ``MULLER``, ``café`` finds ``Cafe``, and an Arabic word finds its
vocalised spelling. A word is a run of Unicode word characters (``\\w``), which is
also what tantivy's regex tokenizer splits on, so both sides agree on word edges.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"\w+")
WORD_PATTERN = r"\w+"  # the index's tokenizer: the same pattern, Rust's regex engine
# Marks (accents, Arabic vowel signs) and invisible format characters (zero-width
# joiners): dropped, so spellings with and without them match, and so Python's and
# Rust's ``\w`` (which disagree on marks) split the same words.
_DROPPED = {"Mn", "Mc", "Me", "Cf"}


def fold(text: str) -> str:
    """Lower case, no accents or other combining marks, compatibility forms unified.

    NFKD splits ``é`` into ``e`` and a combining accent, which is dropped (as are all
    marks and format characters); casefold
    maps ``ß`` to ``ss`` and Greek final sigma to sigma; NFC puts back what remains.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED)
    return unicodedata.normalize("NFC", kept.casefold())


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return WORD.findall(fold(text))


def document(title: str | None, text: str | None) -> str:
    """What the index holds for an article: its title, then its text, folded."""
    return fold(f"{title or ''}\n{text or ''}")
