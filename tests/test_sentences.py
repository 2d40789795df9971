"""Sentence splitting for framing: a maintained multilingual segmenter, not a regex."""

from __future__ import annotations

from framewatch.analysis.framing.sentences import sentences
from framewatch.analysis.framing.zeroshot import split_sentences


def test_abbreviations_initials_and_dates_stay_inside_their_sentence():
    text = (
        "Mr. Trump said the U.S. Senate will vote on Jan. 6 anniversary. "
        "J. K. Rowling and Dr. Jane Smith of Acme Inc. were not asked."
    )
    assert sentences(text) == [
        "Mr. Trump said the U.S. Senate will vote on Jan. 6 anniversary.",
        "J. K. Rowling and Dr. Jane Smith of Acme Inc. were not asked.",
    ]


def test_decimal_numbers_and_quotes():
    text = (
        'Inflation rose to 3.5 percent in March, up from 2.9. "We will not back down," '
        'the minister said. "The rate is 0.25 points too high."'
    )
    got = sentences(text)
    assert got[0] == "Inflation rose to 3.5 percent in March, up from 2.9."
    assert got[1] == '"We will not back down," the minister said.'
    assert got[2] == '"The rate is 0.25 points too high."'


def test_german_abbreviations_follow_german_rules():
    text = (
        "Die Wahl ist im Okt. 2026 geplant, sagte u.a. der Sprecher. Dr. Müller kam um 14.30 Uhr."
    )
    want = [
        "Die Wahl ist im Okt. 2026 geplant, sagte u.a. der Sprecher.",
        "Dr. Müller kam um 14.30 Uhr.",
    ]
    assert sentences(text) == want  # the language is detected: German rules
    assert sentences(text, "en") != want  # English rules end a sentence at "Okt."


def test_abbreviations_the_segmenter_lacks_and_initials_stay_inside_in_any_language():
    # sentencex's Russian and Polish lists lack "т.е.", "напр.", "proc." and initials:
    # a piece that starts lower case, or follows an initial, is no new sentence.
    ru = ("Цены выросли, т.е. инфляция ускорилась. Об этом сообщила Э. С. Набиуллина. "
          "Фрукты, напр. яблоки, дешевеют.")  # fmt: skip
    assert sentences(ru, "ru") == [
        "Цены выросли, т.е. инфляция ускорилась.", "Об этом сообщила Э. С. Набиуллина.",
        "Фрукты, напр. яблоки, дешевеют.",
    ]  # fmt: skip
    ru = "Apple снизила цены. iPhone подешевел. Это была Первая мировая война I. Книга вышла."
    assert len(sentences(ru, "ru")) == 4  # a brand's lower-case start, a Roman numeral
    pl = "Teraz popiera go już 26,6 proc., czyli 10 proc. wyborców więcej. Sondaż jest nowy."
    assert sentences(pl, "pl") == [
        "Teraz popiera go już 26,6 proc., czyli 10 proc. wyborców więcej.", "Sondaż jest nowy.",
    ]  # fmt: skip


def test_chinese_and_arabic_punctuation_split():
    zh = "中国公司发布了新的开源人工智能模型。美国官员对此表示担忧！专家们怎么看？"
    assert sentences(zh) == [
        "中国公司发布了新的开源人工智能模型。", "美国官员对此表示担忧！", "专家们怎么看？",
    ]  # fmt: skip
    ar = "أعلنت الحكومة عن خطة جديدة للنقل. هل ستنجح الخطة؟ يقول الخبراء إنها طموحة."
    assert sentences(ar) == [
        "أعلنت الحكومة عن خطة جديدة للنقل.", "هل ستنجح الخطة؟", "يقول الخبراء إنها طموحة.",
    ]  # fmt: skip


def test_framing_keeps_whole_sentences_in_any_script():
    text = (
        "Mr. Trump said the U.S. Senate will vote on Jan. 6 anniversary.\n"
        "中国公司发布了新的开源人工智能模型。好。"
    )
    got = split_sentences(text)
    # The "Mr." part is kept (the old regex dropped it), and a Chinese sentence counts
    # by its characters; a one-character one does not.
    assert got == [
        "Mr. Trump said the U.S. Senate will vote on Jan. 6 anniversary.",
        "中国公司发布了新的开源人工智能模型。",
    ]
