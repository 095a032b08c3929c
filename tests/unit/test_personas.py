"""Persona files: loading, the problems reported for broken files, the rules, the shipped set."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from roleplay.errors import PersonaError, Problem
from roleplay.mood import Rung
from roleplay.personas import (
    Persona,
    find_persona,
    load_persona,
    load_personas,
    parse_persona,
    persona_schema,
    scan_personas,
)
from roleplay.signals import SignalKind

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "personas"
DATA = Path(__file__).parent / "data" / "personas"
VALID = DATA / "valid" / "minimal.yaml"
BROKEN = DATA / "broken"
SEEDS = {
    "000_0f466079d35c6250.txt",
    "001_46b9cf68d6b803a6.txt",
    "002_87a8c2f4fa0d76fa.txt",
    "003_119b43093722ea27.txt",
    "004_df3cf094b7b33c4c.txt",
}

# Each broken file is tests/unit/data/personas/valid/minimal.yaml with one thing broken; these
# are the lines `roleplay personas validate` prints for it (a line may be cut short where the
# rest lists every signal kind, which grows as the evaluator adds kinds).
EXPECTED: dict[str, list[str]] = {
    "bad_id.yaml": [
        ("bad_id.yaml:1: id: 'Late_Parcel' is not a valid id; use lowercase letters, digits and "
         "hyphens, e.g. `crm-outage`"),
    ],
    "bad_language.yaml": [
        ("bad_language.yaml:4: language: 'English' is not a language code; use a two-letter "
         "lowercase ISO 639-1 code: en, fi, no, lv, hu"),
    ],
    "boundary_missing.yaml": [
        ("boundary_missing.yaml:30: lowers: does not contain `boundary`; add `- boundary`: without "
         "it a trainee cannot bring the customer down from cursing the way source 003 teaches"),
    ],
    "colon_in_text.yaml": [
        ("colon_in_text.yaml:9: (yaml): not valid YAML: mapping values are not allowed here; put "
         "the text in quotes: it contains ': ', which YAML reads as a new field"),
    ],
    "duplicate_key.yaml": [
        ("duplicate_key.yaml:4: title: appears twice (first on line 2); keep one of the two; the "
         "second one would silently replace the first"),
    ],
    "explicit_tag.yaml": [
        ("explicit_tag.yaml:6: (yaml): uses the YAML tag 'tag:yaml.org,2002:int'; remove the tag "
         "(`!...`) and write the plain value"),
    ],
    "id_too_long.yaml": [
        ("id_too_long.yaml:1: id: is 300 characters long; keep it to 64 characters or fewer: the "
         "id names the persona's file and its address in the web app"),
    ],
    "lone_surrogate.yaml": [
        ("lone_surrogate.yaml:5: (file): is not UTF-8 text (byte 0xed); save the file as UTF-8 in "
         "your editor"),
    ],
    "nested_deep.yaml": [
        ("nested_deep.yaml:11: (yaml): not valid YAML: nested more than 32 levels deep; close the "
         "brackets sooner or indent less: no field nests this deep"),
    ],
    "nul_byte.yaml": [
        ("nul_byte.yaml:3: (file): contains a NUL byte, U+0000; remove it: save the file as plain "
         "UTF-8 text"),
    ],
    "empty.yaml": [
        ("empty.yaml:1: (file): the file is empty; start from a file in personas/ or from "
         "`roleplay personas schema`"),
    ],
    "empty_value.yaml": [
        "empty_value.yaml:2: title: is empty; write the text after the colon",
    ],
    "fact_as_mapping.yaml": [
        ("fact_as_mapping.yaml:11: customer.facts[0]: was read as a group of fields because the "
         "text contains ': '; put the whole text in double quotes"),
    ],
    "missing_field.yaml": [
        "missing_field.yaml:1: opening: is missing; add `opening:` (The customer's first line)",
    ],
    "missing_rung.yaml": [
        ("missing_rung.yaml:13: rungs.cursing: is missing; add `cursing:` with behaviour, "
         "examples below it"),
    ],
    "move_in_both_lists.yaml": [
        ("move_in_both_lists.yaml:31: raises[2]: 'empathy' is also in `lowers`; decide whether "
         "this move calms or angers the customer and keep it in one list"),
    ],
    "multi_line_example.yaml": [
        ("multi_line_example.yaml:17: rungs.calm.examples[0]: spans more than one line; write it "
         "on one line (use `>` if you want to wrap it in the file)"),
    ],
    "name_with_colon.yaml": [
        ("name_with_colon.yaml:7: customer.name: contains a line break or a colon; write just the "
         "name, e.g. `Maria Lind`"),
    ],
    "not_utf8.yaml": [
        ("not_utf8.yaml:7: (file): is not UTF-8 text (byte 0xe4); save the file as UTF-8 in your "
         "editor"),
    ],
    "number_out_of_range.yaml": [
        ("number_out_of_range.yaml:5: difficulty: '9' is not a whole number from 1 to 5; write a "
         "whole number from 1 to 5"),
    ],
    "swears_on_calm_rung.yaml": [
        ("swears_on_calm_rung.yaml:17: rungs.calm.examples[0]: swears ('damn') on this rung; keep "
         "profanity to the cursing rung's examples"),
    ],
    "tab_indent.yaml": [
        ("tab_indent.yaml:9: (yaml): not valid YAML: while scanning for the next token found "
         "character '\\t' that cannot start any token; indent with spaces, not tabs"),
    ],
    "top_level_list.yaml": [
        ("top_level_list.yaml:1: (file): the file is a list, not persona fields; write one field "
         "per line at the left margin: `id: ...`, `title: ...` (see `roleplay personas schema`)"),
    ],
    "two_documents.yaml": [
        ("two_documents.yaml:33: (yaml): not valid YAML: expected a single document in the "
         "stream but found another document; keep one persona per file: remove the second `---`"),
    ],
    "unknown_field.yaml": [
        ("unknown_field.yaml:1: start_rung: is missing; add `start_rung:` (Where the customer "
         "starts: passive-angry, escalated-angry or cursing (or calm))"),
        ("unknown_field.yaml:12: start_mood: is not a field of a persona; did you mean "
         "`start_rung`?"),
    ],
    "unknown_move.yaml": [
        ("unknown_move.yaml:31: raises[1]: 'sarcasm' is not a trainee move; use one of: empathy, "
         "apology, urgency, next_step"),
    ],
    "unknown_nested_field.yaml": [
        ("unknown_nested_field.yaml:10: customer.phone: is not a field of `customer`; remove it; "
         "the fields here are name, situation, wants, facts"),
    ],
    "unknown_rung.yaml": [
        ("unknown_rung.yaml:12: start_rung: 'furious' is not a rung; use one of: calm, "
         "passive-angry, escalated-angry, cursing"),
    ],
    "wrong_type_group.yaml": [
        ("wrong_type_group.yaml:14: rungs.calm: should be a group of fields; put its fields on "
         "the lines below it, indented by two spaces: behaviour, examples"),
    ],
    "wrong_type_list.yaml": [
        ("wrong_type_list.yaml:24: rungs.escalated-angry.examples: is one text, not a list; write "
         "each item on its own line starting with `- `"),
    ],
    "wrong_type_number.yaml": [
        ("wrong_type_number.yaml:5: difficulty: 'hard' is not a whole number from 1 to 5; write a "
         "whole number from 1 to 5"),
    ],
    "yaml_syntax.yaml": [
        ("yaml_syntax.yaml:2: (yaml): not valid YAML: while scanning a quoted scalar found "
         "unexpected end of stream; close the quote or bracket that opens on this line"),
    ],
}


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(PersonaError) as caught:
        load_persona(path)
    return caught.value.problems


def _persona_text(**changes: str) -> str:
    """The valid minimal persona with some top-level lines replaced (`key: value` text)."""
    lines = VALID.read_text(encoding="utf-8").splitlines()
    for key, line in changes.items():
        lines = [line if text.startswith(f"{key}:") else text for text in lines]
    return "\n".join(lines) + "\n"


# --- The valid file and the broken ones ---------------------------------------------------------

def test_minimal_persona_loads_typed() -> None:
    persona = load_persona(VALID)
    assert persona.id == "late-parcel"
    assert persona.start_rung is Rung.PASSIVE_ANGRY
    assert persona.rungs.for_rung(Rung.CURSING).examples == ["Where is my damn parcel?"]
    assert persona.lowers == [SignalKind.EMPATHY, SignalKind.NEXT_STEP, SignalKind.BOUNDARY]
    assert persona.difficulty == 2


def test_every_broken_file_has_expected_lines() -> None:
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_names_file_line_field_and_fix(name: str) -> None:
    problems = _problems(BROKEN / name)
    shown = [str(p).removeprefix(f"{BROKEN}/") for p in problems]
    assert len(shown) == len(EXPECTED[name]), shown
    for line, expected in zip(shown, EXPECTED[name], strict=True):
        assert line.startswith(expected), line
    for problem in problems:
        assert problem.file == str(BROKEN / name)
        assert problem.line is not None and problem.field and problem.message and problem.fix


# --- How YAML is read ---------------------------------------------------------------------------

def test_plain_values_are_read_as_typed_not_as_yaml_1_1() -> None:
    text = _persona_text(language="language: no", difficulty="difficulty: 3").replace(
        "    - Tracking number QS-1029", "    - 48213\n    - 10:30\n    - yes"
    ) + "difficulty: 3\n"
    persona = parse_persona(text, "p.yaml")
    assert persona.language == "no"
    assert persona.difficulty == 3
    assert persona.customer.facts == ["48213", "10:30", "yes"]


def test_byte_order_mark_is_accepted_and_text_is_stripped() -> None:
    raw = b"\xef\xbb\xbf" + VALID.read_bytes().replace(
        b"title: The parcel is late", b"title: '  The parcel is late  '")
    assert parse_persona(raw, "p.yaml").title == "The parcel is late"


def test_blank_text_counts_as_empty() -> None:
    problems = _problems_of(_persona_text(title="title: '   '"))
    assert [str(p) for p in problems] == ["p.yaml:2: title: is empty; write the text after the colon"]


def test_aliases_are_refused_before_validation() -> None:
    bomb = "".join(f"k{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9 if i else ['x'] * 9)}]\n"
                   for i in range(8))
    problems = _problems_of(bomb)
    assert [p.field for p in problems] == ["(alias)"]


def test_oversized_text_is_refused() -> None:
    problems = _problems_of("title: x\n" + "# padding\n" * 20_000)
    assert "characters long" in problems[0].message


def test_pasted_text_with_a_lone_surrogate_or_control_character_is_refused() -> None:
    # Pasted text (the trainer view) arrives as str, so a surrogate was never UTF-8 bytes.
    assert [str(p) for p in _problems_of(_persona_text(title="title: caf\ud800"))] == [
        ("p.yaml:2: (file): contains an unpaired surrogate (broken text), U+D800; remove it: "
         "save the file as plain UTF-8 text")]
    assert _problems_of("id: x\x1b[31m\n")[0].message == "contains a control character, U+001B"


def test_missing_file() -> None:
    problems = _problems(BROKEN / "nope.yaml")
    assert str(problems[0]).startswith(f"{BROKEN}/nope.yaml: (file): does not exist;")


def _problems_of(text: str) -> list[Problem]:
    with pytest.raises(PersonaError) as caught:
        parse_persona(text, "p.yaml")
    return caught.value.problems


# --- Rules beyond the types --------------------------------------------------------------------

def test_profanity_is_allowed_on_the_cursing_rung_and_in_a_cursing_opening() -> None:
    text = _persona_text(start_rung="start_rung: cursing",
                         opening="opening: Where is my damn parcel?")
    assert parse_persona(text, "p.yaml").start_rung is Rung.CURSING


def test_profanity_in_a_calmer_opening_is_refused() -> None:
    problems = _problems_of(_persona_text(opening="opening: Where is my damn parcel?"))
    assert [(p.field, p.line) for p in problems] == [("opening", 32)]
    assert "calmer rung" in problems[0].message


def test_a_move_listed_twice() -> None:
    problems = _problems_of(_persona_text(raises="raises: [blame, dismissive, blame]"))
    assert [str(p) for p in problems] == [
        "p.yaml:31: raises[2]: 'blame' is listed twice; remove the second one"]


@pytest.mark.parametrize("name", ["Agent", "Maria: Lind", "x" * 41])
def test_customer_name_must_work_as_a_speaker_label(name: str) -> None:
    text = VALID.read_text(encoding="utf-8").replace("name: Maria Lind", f"name: '{name}'")
    problems = _problems_of(text)
    assert [p.field for p in problems] == ["customer.name"]


# --- Directories and lookup ---------------------------------------------------------------------

def test_scan_reports_duplicate_ids_and_keeps_good_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(VALID.read_bytes())
    (tmp_path / "b.yaml").write_bytes(VALID.read_bytes())
    (tmp_path / "c.yaml").write_text("id: [\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a persona", encoding="utf-8")
    personas, problems = scan_personas([tmp_path])
    assert list(personas) == ["late-parcel"]
    assert [(Path(p.file).name, p.line, p.field) for p in problems] == [
        ("b.yaml", 1, "id"), ("c.yaml", 1, "(yaml)")]
    assert "already the id of" in problems[0].message and "a.yaml" in problems[0].message
    with pytest.raises(PersonaError):
        load_personas(tmp_path)


def test_empty_directory_is_a_problem(tmp_path: Path) -> None:
    personas, problems = scan_personas([tmp_path])
    assert personas == {} and [p.field for p in problems] == ["(directory)"]


def test_find_persona_by_id_despite_a_broken_neighbour(tmp_path: Path) -> None:
    (tmp_path / "parcel.yaml").write_bytes(VALID.read_bytes())  # file name differs from the id
    (tmp_path / "draft.yaml").write_text("title: [\n", encoding="utf-8")
    assert find_persona("late-parcel", tmp_path).title == "The parcel is late"


def test_find_persona_unknown_id_suggests_the_close_one(tmp_path: Path) -> None:
    (tmp_path / "late-parcel.yaml").write_bytes(VALID.read_bytes())
    with pytest.raises(PersonaError) as caught:
        find_persona("late-parcle", tmp_path)
    assert str(caught.value) == (f"{tmp_path}: id: no persona has the id 'late-parcle'; "
                                 "did you mean 'late-parcel'? known ids: late-parcel")


def test_find_persona_does_not_read_outside_the_directory(tmp_path: Path) -> None:
    inside = tmp_path / "personas"
    inside.mkdir()
    (inside / "late-parcel.yaml").write_bytes(VALID.read_bytes())
    (tmp_path / "secret.yaml").write_bytes(VALID.read_bytes().replace(b"late-parcel", b"secret"))
    with pytest.raises(PersonaError, match="no persona has the id '../secret'"):
        find_persona("../secret", inside)


def test_find_persona_reports_the_named_file_problems(tmp_path: Path) -> None:
    (tmp_path / "late-parcel.yaml").write_text(_persona_text(title="title:"), encoding="utf-8")
    with pytest.raises(PersonaError, match="title: is empty"):
        find_persona("late-parcel", tmp_path)


# --- The shipped personas -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> dict[str, Persona]:
    return load_personas(SHIPPED)


def test_shipped_personas_cover_the_issue(shipped: dict[str, Persona]) -> None:
    starts = [p.start_rung for p in shipped.values()]
    for rung in (Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY, Rung.CURSING):
        assert starts.count(rung) >= 2, rung
    assert len({p.industry for p in shipped.values()}) >= 4
    assert any(p.language == "fi" for p in shipped.values())
    # 003's CRM outage and 002's late cable repair are among the situations.
    assert {"crm-outage", "cable-repair-late"} <= set(shipped)


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_persona_is_named_after_its_id_and_cites_seeds(path: Path) -> None:
    persona = load_persona(path)
    assert path.stem == persona.id
    assert persona.source and set(persona.source) <= SEEDS
    # The harness's scripted trainees: the good one must be able to calm every customer and
    # the bad one to anger it (see issue 6).
    assert {SignalKind.EMPATHY, SignalKind.NEXT_STEP} <= set(persona.lowers)
    assert {SignalKind.DISMISSIVE, SignalKind.BLAME, SignalKind.ARGUING} <= set(persona.raises)
    assert persona.policy.may_offer and persona.policy.must_not_offer
    assert persona.customer.facts


# --- The JSON Schema for editors ----------------------------------------------------------------

def test_committed_schema_is_up_to_date() -> None:
    committed = json.loads((SHIPPED / "persona.schema.json").read_text(encoding="utf-8"))
    assert committed == persona_schema(), "run: roleplay personas schema > personas/persona.schema.json"


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.stem)
def test_schema_accepts_shipped_persona_as_an_editor_reads_it(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), persona_schema())


def test_schema_rejects_what_the_loader_rejects() -> None:
    data = yaml.safe_load((BROKEN / "unknown_rung.yaml").read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, persona_schema())


def test_schema_describes_every_trainee_move() -> None:
    kinds = persona_schema()["$defs"]["SignalKind"]
    assert kinds["enum"] == [k.value for k in SignalKind]
    assert len(kinds["enumDescriptions"]) == len(kinds["enum"])
    assert all(kinds["enumDescriptions"])


def test_problems_come_in_line_order() -> None:
    # Duplicate keys are found before validation; the bad id above them must still come first.
    text = _persona_text(id="id: Bad_Id").replace("industry: logistics",
                                                  "industry: logistics\ntitle: Again")
    assert [p.line for p in _problems_of(text)] == [1, 4]


# --- Patience: the difficulty's promise ---------------------------------------------------------

@pytest.mark.parametrize("extra, expected", [
    ("difficulty: 5", ("p.yaml:6: difficulty: calming from passive-angry takes 2 good turns at 2 "
     "per rung, outside the 4-6 that difficulty 5 promises; set `patience: {turns_per_rung: 4}` "
     "or change the difficulty")),
    ("difficulty: 1\npatience:\n  turns_per_rung: 3", ("p.yaml:7: patience: calming from "
     "passive-angry takes 3 good turns at 3 per rung, outside the 1-2 that difficulty 1 "
     "promises; set `patience: {turns_per_rung: 1}` or change the difficulty")),
    ("patience: {turns_per_rung: 9}", ("p.yaml:6: patience.turns_per_rung: '9' is not a number "
     "from 1 to 4; write a number from 1 to 4")),
    ("patience: {slow: true}", ("p.yaml:6: patience.slow: is not a field of `patience`; remove "
     "it; the fields here are turns_per_rung, broken_promise, repeated_question")),
])
def test_patience_that_breaks_the_difficulty_promise_is_refused(extra: str, expected: str) -> None:
    problems = _problems_of(_persona_text(company=f"company: QuickShip\n{extra}"))
    assert [str(p) for p in problems] == [expected]


def test_patience_defaults_from_the_difficulty_and_can_be_set() -> None:
    plain = load_persona(VALID)
    assert (plain.turns_per_rung, plain.calm_in) == (1, 1)
    patient = parse_persona(_persona_text(company="company: QuickShip\ndifficulty: 3\n"
                                          "patience: {turns_per_rung: 3}"), "p.yaml")
    assert (patient.turns_per_rung, patient.calm_in) == (3, 3)
    assert patient.patience.broken_promise and patient.patience.repeated_question
