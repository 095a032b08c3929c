"""The rubric file: it loads, covers the seed documents' principles, cites real files, and a
broken rubric gets one message per problem naming the file, the line, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.errors import RubricError
from roleplay.rubric import load_rubric

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO.parent / "shared" / "seeds"
RUBRIC = REPO / "prompts" / "rubric.yaml"

# The principles issue 4 asks for, by the id the rubric gives them.
REQUIRED = {
    "acknowledge_feelings", "no_courtroom", "no_need_to_win", "no_blame", "let_them_save_face",
    "plain_language", "listen_first", "stay_calm", "acknowledge_urgency", "cursing_boundary",
    "no_needless_transfer", "learning_style", "fair_no", "clear_next_step", "follow_up",
    "time_expectations", "customer_at_centre",
}


def test_shipped_rubric_loads_and_covers_every_required_principle() -> None:
    rubric = load_rubric(RUBRIC)
    assert REQUIRED <= set(rubric.ids)
    assert len(rubric.ids) == len(set(rubric.ids))


def test_every_cited_source_exists_in_the_seeds() -> None:
    rubric = load_rubric(RUBRIC)
    seed_files = {p.name for p in SEEDS.glob("*.txt")}
    assert seed_files, f"no seed documents found in {SEEDS}"
    for principle in rubric.principles:
        for source in principle.sources:
            assert source in seed_files, f"{principle.id} cites {source}, not in {SEEDS}"


def test_every_seed_document_is_cited() -> None:
    rubric = load_rubric(RUBRIC)
    cited = {s for p in rubric.principles for s in p.sources}
    assert {p.name for p in SEEDS.glob("*.txt")} <= cited


def test_issue_sources_are_cited_where_the_issue_says() -> None:
    rubric = load_rubric(RUBRIC)
    prefix = {p.id: {s[:3] for s in p.sources} for p in rubric.principles}
    assert {"001", "003"} <= prefix["acknowledge_feelings"]
    assert {"000", "001", "002"} <= prefix["no_courtroom"]
    assert "004" in prefix["no_need_to_win"]
    assert "001" in prefix["let_them_save_face"]
    assert "004" in prefix["plain_language"]
    assert {"002", "004"} <= prefix["listen_first"]
    assert {"000", "002", "003"} <= prefix["stay_calm"]
    assert "003" in prefix["acknowledge_urgency"]
    assert "003" in prefix["cursing_boundary"]
    assert "003" in prefix["no_needless_transfer"]
    assert "003" in prefix["learning_style"]
    assert "002" in prefix["fair_no"]
    assert "002" in prefix["clear_next_step"]
    assert {"002", "004"} <= prefix["follow_up"]
    assert "000" in prefix["time_expectations"]
    assert "001" in prefix["customer_at_centre"]


def test_every_principle_violated_when_missing_can_be_violated_on_quotable_evidence() -> None:
    # A move not heard is `partly` at most (issue 15); what can make a principle `violated`
    # is a harmful move (a quote) or its model check saying no to every turn. A principle
    # the rubric calls violated when missing, with neither, can never be violated:
    # acknowledge_urgency had recall 0 that way. (follow_up and learning_style are partly
    # when missing by design.)
    for principle in load_rubric(RUBRIC).principles:
        ev = principle.evidence
        if ev.when_missing == "violated":
            assert ev.bad_signals or ev.model_check, f"{principle.id} can never be violated"


def test_applicability_matches_the_sources() -> None:
    rubric = load_rubric(RUBRIC)
    assert rubric.get("cursing_boundary").applies_when == "customer_curses"
    assert rubric.get("acknowledge_urgency").applies_when == "customer_urgent"


PRINCIPLE = """\
  - id: p_one
    title: One principle
    description: A description long enough to pass the check.
    good: good handling
    good_example: "I understand."
    violation: bad handling
    violation_example: "Calm down."
    weight: 1
    sources: [003_119b43093722ea27.txt]
"""


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "rubric.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


BROKEN = [
    ("unknown field", "principles:\n" + PRINCIPLE + "    colour: red\n",
     ":11: principles[0].colour: is not a field of `principles[0]`", "the fields here are id,"),
    ("bad applies_when", "principles:\n" + PRINCIPLE + "    applies_when: sometimes\n",
     ":11: principles[0].applies_when:", "use one of: always, customer_curses"),
    ("unknown signal kind", "principles:\n" + PRINCIPLE + "    evidence:\n      bad_signals: [rudeness]\n",
     ":12: principles[0].evidence.bad_signals[0]: 'rudeness'", "use one of: empathy"),
    ("zero weight", "principles:\n" + PRINCIPLE.replace("weight: 1", "weight: 0"),
     ":9: principles[0].weight: '0' is not a number above 0 and at most 10",
     "write a number above 0 and at most 10"),
    ("missing field", "principles:\n" + PRINCIPLE.replace("    good: good handling\n", ""),
     ":2: principles[0].good: is missing", "add `good:` (What good handling looks like)"),
    ("bad source name", "principles:\n" + PRINCIPLE.replace("003_119b43093722ea27.txt", "article.txt"),
     ":10: principles[0].sources[0]:", "cite a seed file by its name"),
    ("duplicate id", "principles:\n" + PRINCIPLE + PRINCIPLE,
     ":11: principles[1].id: duplicate id 'p_one'", "give every principle its own id"),
    ("unknown model check", "principles:\n" + PRINCIPLE + "    evidence:\n      model_check: kindness\n",
     ":12: principles[0].evidence.model_check: unknown model check 'kindness'", "define it"),
    ("violated without anything to look for",
     "principles:\n" + PRINCIPLE + "    evidence:\n      when_missing: violated\n",
     ":12: principles[0].evidence.when_missing:", "add good_signals"),
    ("yaml syntax", "principles:\n  - id: [unclosed\n", ":2: (yaml): not valid YAML",
     "close the quote or bracket"),
    ("empty file", "", ":1: (file): the file is empty", "add `principles:`"),
    ("top-level list", "- a\n- b\n", ":1: (file): the file is a list", "start the file"),
    ("no principles", "version: 1\n", ":1: principles: is missing", "add `principles:` with id,"),
    ("duplicate key", "version: 1\nversion: 2\nprinciples:\n" + PRINCIPLE,
     ":2: version: appears twice", "keep one of the two"),
    ("nul byte", "principles:\n" + PRINCIPLE + "\0", ":11: (file): contains a NUL byte",
     "remove it"),
    ("deep nesting", "principles: " + "[" * 600, ":1: (yaml): not valid YAML: nested more than",
     "close the brackets sooner"),
    ("explicit tag", "principles:\n" + PRINCIPLE.replace("weight: 1", "weight: !!float x"),
     ":9: (yaml): uses the YAML tag", "remove the tag"),
]


@pytest.mark.parametrize("name,text,where,fix", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_rubric_names_file_line_field_and_fix(tmp_path: Path, name: str, text: str,
                                                     where: str, fix: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RubricError) as err:
        load_rubric(path)
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert where in message, message
    assert fix in message, message


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="not UTF-8"):
        load_rubric(_write(tmp_path, b"principles:\n  - id: caf\xe9\n"))
    with pytest.raises(RubricError, match="does not exist; set ROLEPLAY_PROMPTS_DIR"):
        load_rubric(tmp_path / "missing.yaml")
