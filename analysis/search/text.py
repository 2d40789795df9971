"""Text as the search index sees it: whole words, case- and accent-folded, in any script.

The same folding runs on the indexed texts and on the query, so ``Müller`` finds
``muller`` and ``MULLER``, ``café`` finds ``Cafe``, ``SAĞLIK`` and ``saglik`` find
``Sağlık``, ``Lukasz`` finds ``Łukasz``, ``19`` finds ``١٩``, and an Arabic word finds its vocalised spelling
and its common variants (``فى``/``في``, ``الصحه``/``الصحة``). A word is a run of Unicode word characters (``\\w``), or one
character of Chinese, Japanese, Korean, Thai, Lao, Burmese or Khmer; tantivy's regex tokenizer splits on the same
pattern, so both sides agree on word edges.
"""

from __future__ import annotations

import re
import unicodedata

from framewatch.words import HANGUL, UNSPACED, char_class

# Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Burmese,
# Khmer) and Korean, whose particles attach to the noun: each character is a word, as
# Lucene's CJK analysers split them, so a query word of several characters is a phrase
# of them ("人工智能" is found inside "开源人工智能模型", "북한" inside "북한의"). Without
# this a whole clause would be one word and no query would ever match it.
# The ranges are the core's (``framewatch.words``), which counts words by them too.
_CJK = tuple(sorted(UNSPACED + HANGUL))
_PY = char_class(_CJK)
_RUST = "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in _CJK)
WORD = re.compile(f"[{_PY}]|[^\\W{_PY}]+")
WORD_PATTERN = f"[{_RUST}]|[^\\W{_RUST}]+"  # the index's tokenizer: the same, in Rust's syntax
# Marks (accents, Arabic vowel signs) and invisible format characters (zero-width
# joiners): dropped, so spellings with and without them match, and so Python's and
# Rust's ``\w`` (which disagree on marks) split the same words.
_DROPPED = {"Mn", "Mc", "Me", "Cf"}
# Letters that carry their stroke or dot in the letter itself, so NFKD keeps them whole
# (Turkish dotless i, Polish l with stroke, Nordic o with stroke...): folded as accents
# are, as Lucene's ASCII folding does. Arabic and Persian spelling variants are unified as
# Lucene's Arabic and Persian normalisers do: alef maksura and Persian yeh as yeh, teh
# marbuta as heh, keheh as kaf; the tatweel (a stretching stroke) is dropped.
_LETTERS = str.maketrans({
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "þ": "th",
    "æ": "ae", "œ": "oe", "ى": "ي", "ی": "ي", "ة": "ه", "ۀ": "ه", "ک": "ك", "ـ": None,
})  # fmt: skip
# Decimal digits of every script as ASCII digits (Arabic-Indic ١٩, Persian ۱۹, Devanagari
# १९ ...), as ICU's folding does: a figure is found however it is written. NFKD already
# maps the full-width and mathematical forms; the basic plane holds the scripts' own.
_LETTERS.update(
    {
        c: str(unicodedata.decimal(chr(c)))
        for c in range(0x80, 0x10000)
        if unicodedata.category(chr(c)) == "Nd"
    }
)


def fold(text: str) -> str:
    """Lower case, no accents or other combining marks, compatibility forms unified.

    NFKD splits ``é`` into ``e`` and a combining accent, which is dropped (as are all
    marks and format characters); casefold maps ``ß`` to ``ss`` and Greek final sigma
    to sigma; letters NFKD cannot split are mapped (``_LETTERS``); NFC puts back what
    remains.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED)
    return unicodedata.normalize("NFC", kept.casefold().translate(_LETTERS))


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return WORD.findall(fold(text))


def document(title: str | None, text: str | None) -> str:
    """What the index holds for an article: its title, then its text, folded."""
    return fold(f"{title or ''}\n{text or ''}")


# Arabic writes the article and some prepositions attached to the noun: "الدولار" (the
# dollar), "بالدولار" (in dollars), "للدولار" (for the dollar). A query word stands for
# these forms too, as Lucene's Arabic stemmers strip the same prefixes; "و" alone and
# other clitics are left alone (too many words begin with those letters).
_ARABIC = re.compile(r"^[\u0621-\u064a]{2,}$")
_DEFINITE = ("ال", "وال", "بال", "فال", "كال")


def word_forms(word: str) -> tuple[str, ...]:
    """The folded forms a folded query word matches: itself, and for an Arabic word the
    same word with the definite article and the prepositions written onto it."""
    if not _ARABIC.match(word):
        return (word,)
    base = word[2:] if word.startswith("ال") and len(word) > 3 else word
    forms = [*(p + base for p in _DEFINITE), "لل" + base]
    return tuple(dict.fromkeys([word, *forms]))
