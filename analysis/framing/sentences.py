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
        for s in segment(language or FALLBACK_LANGUAGE, paragraph):
            s = " ".join(s.split())
            if s:
                out.append(s)
    return out
