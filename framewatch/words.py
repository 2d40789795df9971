"""How long a text is in words, in any script.

Chinese, Japanese, Thai, Lao, Burmese and Khmer put no spaces between words, so
``text.split()`` finds one "word" per clause: an 800-character Chinese article is a
handful of words, and the crawler took it for a stub. Their characters are counted
at a rate instead (``HAN_CHARS_PER_WORD``, ``ABUGIDA_CHARS_PER_WORD``); the rest
of the text counts its space-separated words, as before. The crawler (stub
detection, ``word_count``) and the search index (one token per such character)
share the ranges here, so both agree on which scripts are unspaced.
"""

from __future__ import annotations

import math
import re

# Thai, Lao, Burmese and Khmer: vowels and tone marks are code points of their own.
ABUGIDA = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF))
# Han (with the iteration marks 々〆〇) and kana.
HAN_KANA = ((0x3005, 0x3007), (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF),
            (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))  # fmt: skip
UNSPACED = tuple(sorted(ABUGIDA + HAN_KANA))
# Korean separates its words by spaces (counted as words here), but the search index
# splits hangul per character too, as its particles attach to the noun.
HANGUL = ((0xAC00, 0xD7AF),)
# A Chinese word averages about 1.5-1.7 characters (most are one or two); Japanese
# runs a little longer with its kana endings: 1.6 sits between the two.
HAN_CHARS_PER_WORD = 1.6
# A Thai, Lao, Burmese or Khmer word is a syllable or two, each a consonant with its
# vowel and tone marks: about four code points (a rough figure, erring long).
ABUGIDA_CHARS_PER_WORD = 4.0


def char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The ranges as the inside of a regex character class (``[...]``)."""
    return "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges)


_HAN = re.compile(f"[{char_class(HAN_KANA)}]")
_ABUGIDA = re.compile(f"[{char_class(ABUGIDA)}]")
_SPACED = re.compile(r"\S+")
_WORDY = re.compile(r"\w")


def word_count(text: str | None) -> int:
    """Words in ``text``: spaced words (a dash or a lone quote is none), plus the
    characters of unspaced scripts at their rates, rounded up."""
    if not text:
        return 0
    han = len(_HAN.findall(text))
    abugida = len(_ABUGIDA.findall(text))
    rest = _ABUGIDA.sub(" ", _HAN.sub(" ", text))
    spaced = sum(1 for w in _SPACED.findall(rest) if _WORDY.search(w))
    return (
        spaced + math.ceil(han / HAN_CHARS_PER_WORD) + math.ceil(abugida / ABUGIDA_CHARS_PER_WORD)
    )
