"""`eval framing` and `eval stories` read label files as real datasets write them: column
names in any case and under their datasets' names, lists as pandas prints them, MFC and
SemEval label spellings, the official SemEval-2022 pair CSV's columns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from conftest import write_jsonl
from typer.testing import CliRunner

from framewatch.analysis.framing.codebook import resolve_codebook
from framewatch.analysis.framing.label_files import parse_frames, read_labelled_file
from framewatch.analysis.stories.pairs import read_pairs
from framewatch.cli import app
from framewatch.sample_site import load_corpus

runner = CliRunner()


def _csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _eval(tmp_path: Path, *args: str):
    return runner.invoke(app, ["--db", str(tmp_path / "x.duckdb"), "eval", *args])


def test_dataset_column_names_in_any_case_are_read_and_empty_labels_noted(tmp_path):
    """`Headline,Sentence,Label` (FrAC-like, capitalised) is scored; the two empty labels
    are named in a note, as none of the frames."""
    arts = load_corpus()[:8]
    rows = [[a.title, a.text, "" if i < 2 else a.frame.capitalize()] for i, a in enumerate(arts)]
    f = _csv(tmp_path / "gold.csv", ["Headline", "Sentence", "Label"], rows)
    r = _eval(tmp_path, "framing", str(f), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["n"] == 8 and data["multi_label"] is True
    assert f"note: {f}: 2 of 8 rows have an empty label, taken as none of the frames" in r.stderr
    assert "scored as multi-label" in r.stderr


def test_file_without_a_text_column_is_refused_with_its_columns(tmp_path):
    f = _csv(tmp_path / "gold.csv", ["id", "body_text", "frame"], [["1", "Some words.", "threat"]])
    r = _eval(tmp_path, "framing", str(f))
    assert r.exit_code == 2
    assert "the file's columns are id, body_text, frame" in r.output
    assert "text is read from text, sentence, content, body, title, headline" in r.output


def test_file_without_a_label_column_is_refused_with_its_columns(tmp_path):
    f = _csv(tmp_path / "gold.csv", ["Text", "topic"], [["Some words.", "threat"]])
    r = _eval(tmp_path, "framing", str(f))
    assert r.exit_code == 2
    assert "the file's columns are Text, topic" in r.output
    assert "frame is read from frames, frame, labels, label, gold, category" in r.output


def test_label_shapes_pandas_lists_commas_and_case(tmp_path):
    """A list as pandas prints it, a comma list, a capitalised id: each is its frames."""
    cb = resolve_codebook("geopolitics-tech")
    cells = ["['threat', 'regulation']", '["threat", "regulation"]', "threat, regulation",
             "threat;regulation", "Threat", "REGULATION"]  # fmt: skip
    f = _csv(
        tmp_path / "gold.csv", ["text", "frames"], [[f"T {i}.", c] for i, c in enumerate(cells)]
    )
    rows = read_labelled_file(f, cb)
    assert [r.frames for r in rows] == [["threat", "regulation"]] * 4 + [["threat"], ["regulation"]]
    assert parse_frames("['a', 'b']") == ["a", "b"] and parse_frames("a, b") == ["a", "b"]


def test_semeval_policy_frame_names_meet_the_codebook_keys(tmp_path):
    """SemEval-2023 Task 3 / MFC names (underscores, capitals, "and", a comma inside a label)
    are the shipped policy-frames codebook's frames, with no table of them."""
    cb = resolve_codebook("policy-frames")
    cells = ["Capacity_and_resources", "Legality_Constitutionality_and_jurisprudence",
             "External_regulation_and_reputation", "Legality, constitutionality and jurisprudence",
             "Economic, Crime_and_punishment", "fairness & equality"]  # fmt: skip
    f = write_jsonl(tmp_path / "gold.jsonl", [{"text": f"Text {i}.", "frame": c}
                                              for i, c in enumerate(cells)])  # fmt: skip
    assert [r.frames for r in read_labelled_file(f, cb)] == [
        ["capacity_resources"], ["legality_constitutionality"],
        ["external_regulation_reputation"], ["legality_constitutionality"],
        ["economic", "crime_punishment"], ["fairness_equality"],
    ]  # fmt: skip


def test_official_semeval_pair_csv_without_texts_is_told_what_to_join(tmp_path):
    header = ["url1_lang", "url2_lang", "pair_id", "link1", "link2", "Overall", "Tone"]
    row = ["en", "de", "1484084337_1484110209", "https://a.example/1", "https://b.example/2",
           "1.0", "2.0"]  # fmt: skip
    f = _csv(tmp_path / "semeval.csv", header, [row])
    r = _eval(tmp_path, "stories", str(f))
    assert r.exit_code == 2
    assert "holds only ids and URLs: join the article texts in" in r.output
    assert "id1, text1, id2, text2, overall" in r.output
    assert "needs a title" not in r.output and "Traceback" not in r.output


def test_pair_columns_in_any_case_semeval_languages_and_a_decimal_comma(tmp_path):
    header = ["ID1", "Text1", "id2", "TEXT2", "Overall", "url1_lang", "url2_lang"]
    # the gold languages win over detection (these short English texts would be "en")
    rows = [["1", "Dock workers strike in Rotterdam.", "2", "Dock workers walk out.", "1,5",
             "nl", "sv"]]  # fmt: skip
    f = _csv(tmp_path / "pairs.csv", header, rows)
    (pair,) = read_pairs(f)
    assert (pair.id1, pair.id2, pair.overall) == ("1", "2", 1.5)
    assert (pair.lang1, pair.lang2) == ("nl", "sv")
    assert pair.text2 == "Dock workers walk out."
