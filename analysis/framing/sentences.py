"""Sentences of an article in any language, by sentencex (a maintained rule-based
segmenter for ~300 languages with per-language abbreviation lists).

Abbreviations ("Mr.", "U.S.", "Jan."), initials, decimal numbers and quotations stay inside
their sentence; Chinese and Japanese (。！？), Arabic (؟) and Devanagari (।) punctuation end
one. Line breaks end a sentence too: extracted text puts headings and paragraphs on lines
of their own.
"""

from __future__ import annotations

from sentencex import segment

from framewatch.language import detect

FALLBACK_LANGUAGE = "en"  # sentencex's English rules still split CJK and Arabic punctuation


def sentences(text: str, language: str | None = None) -> list[str]:
    """The text's sentences, whitespace collapsed, empty ones dropped.

    Without a ``language`` the text's own is detected (a tenth of a millisecond), so German
    abbreviations follow German rules ("3. Okt. 2020" is one date, not two sentences).
    """
    language = language or detect(text)[0] or FALLBACK_LANGUAGE
    out: list[str] = []
    for paragraph in (text or "").splitlines():
        if not paragraph.strip():
            continue
        pieces = [" ".join(s.split()) for s in segment(language or FALLBACK_LANGUAGE, paragraph)]
        pieces = [s for s in pieces if s]
        # English rules know their abbreviations and initials; other languages' lists are
        # thinner, and English framing figures stay exactly as measured.
        out.extend(pieces if language == "en" else _rejoined(pieces))
    return out


def _rejoined(pieces: list[str]) -> list[str]:
    """Pieces cut where no sentence ends, joined again: before a lower-case word (no
    sentence starts with one: Russian "т.е. вернулся", "напр. яблоки", abbreviations the
    segmenter's lists lack; "iPhone" and "eBay" do start one) and after an initial in a
    script whose initials the segmenter does not know ("Э. С. Набиуллина"; it keeps
    "J. K. Rowling" together, and "World War I." ends a sentence)."""
    out: list[str] = []
    for piece in pieces:
        if out and (piece.split()[0].islower() or _initial(out[-1]) and piece[0].isupper()):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _initial(piece: str) -> bool:
    """Ends with one non-Latin capital and a full stop, after a space: a name's initial."""
    return len(piece) >= 2 and piece[-1] == "." and piece[-2].isupper() and (
        not piece[-2].isascii()) and (len(piece) == 2 or piece[-3] == " ")  # fmt: skip
