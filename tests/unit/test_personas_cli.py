"""`roleplay personas list|validate|schema` through the command line entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from roleplay.cli import main
from roleplay.config import Settings

DATA = Path(__file__).parent / "data" / "personas"
SHIPPED = Path(__file__).resolve().parents[2] / "personas"
# FILE:LINE: FIELD: what is wrong; how to fix it
PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+): (?P<field>\S+): .+; .+$")


@pytest.fixture
def personas_dir(tmp_path: Path) -> Path:
    return tmp_path


def run(personas_dir: Path, *argv: str) -> int:
    """`roleplay ARGV` with ROLEPLAY_PERSONAS_DIR=personas_dir."""
    return main(list(argv), settings=Settings(personas_dir=personas_dir,
                                              db_path=personas_dir / "db.sqlite3"))


def test_validate_shipped_personas_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(SHIPPED, "personas", "validate", str(SHIPPED)) == 0
    out, err = capsys.readouterr()
    assert out == "" and re.fullmatch(r"\d+ persona\(s\) valid\n", err)


def test_validate_without_paths_checks_the_configured_directory(
        personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    assert run(personas_dir, "personas", "validate") == 0
    (personas_dir / "broken.yaml").write_text("id: x\n", encoding="utf-8")
    assert run(personas_dir, "personas", "validate") == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() and all(line.startswith(f"{personas_dir}/broken.yaml:1: ")
                                    for line in out.splitlines())


def test_validate_broken_files_prints_one_line_per_problem(
        capsys: pytest.CaptureFixture[str]) -> None:
    broken = DATA / "broken"
    assert run(SHIPPED, "personas", "validate", str(broken), str(DATA / "valid")) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    named = {Path(m["file"]).name for m in map(PROBLEM_LINE.match, lines) if m}
    assert all(PROBLEM_LINE.match(line) for line in lines), lines
    assert named == {p.name for p in broken.iterdir()}
    assert err.strip().endswith(f"in {len(named)} file(s); 1 persona(s) valid")


def test_validate_a_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(SHIPPED, "personas", "validate", "no/such.yaml") == 1
    assert capsys.readouterr().out == "no/such.yaml: (file): does not exist; check the path\n"


def test_list_json(personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    assert run(personas_dir, "personas", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == [{
        "id": "late-parcel", "title": "The parcel is late", "industry": "logistics",
        "language": "en", "start_rung": "passive-angry"}]


def test_list_shows_good_personas_and_reports_broken_ones(
        personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    (personas_dir / "draft.yaml").write_text("title: [\n", encoding="utf-8")
    assert run(personas_dir, "personas", "list", "--json") == 1
    out, err = capsys.readouterr()
    assert [row["id"] for row in json.loads(out)] == ["late-parcel"]
    assert err.startswith(f"{personas_dir}/draft.yaml:1: (yaml): ")


def test_list_table(personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    assert run(personas_dir, "personas", "list") == 0
    assert capsys.readouterr().out.split() == [
        "late-parcel", "passive-angry", "en", "logistics", "The", "parcel", "is", "late"]


def test_schema_is_json_for_editors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(SHIPPED, "personas", "schema") == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert "start_rung" in schema["required"]


@pytest.mark.parametrize("raw", [b"id: x\x00\n", b"title: " + b"[" * 600, b"a: " + b"{a: " * 600,
                                 b"\xff\xfe", b"id: \xed\xa0\x80\n"],
                         ids=["nul", "brackets", "braces", "binary", "surrogate"])
def test_a_file_that_crashed_the_parser_is_reported_and_the_others_listed(
        personas_dir: Path, capsys: pytest.CaptureFixture[str], raw: bytes) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    (personas_dir / "draft.yaml").write_bytes(raw)
    assert run(personas_dir, "personas", "list", "--json") == 1
    out, err = capsys.readouterr()
    assert [row["id"] for row in json.loads(out)] == ["late-parcel"]
    assert PROBLEM_LINE.match(err.splitlines()[0]) and len(err.splitlines()) == 1, err


def test_an_id_too_long_to_publish_is_refused(personas_dir: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    text = (DATA / "valid" / "minimal.yaml").read_text(encoding="utf-8")
    (personas_dir / "long.yaml").write_text(text.replace("late-parcel", "a" * 300),
                                            encoding="utf-8")
    (personas_dir / "limit.yaml").write_text(text.replace("late-parcel", "b" * 64),
                                             encoding="utf-8")
    assert run(personas_dir, "personas", "validate") == 1
    assert capsys.readouterr().out == (
        f"{personas_dir}/long.yaml:1: id: is 300 characters long; keep it to 64 characters or "
        "fewer: the id names the persona's file and its address in the web app\n")


@pytest.mark.parametrize("opening, calm, flagged", [
    ("Hi. The parcel was **promised** for *Monday*.", "***Thanks***, that helps.", None),
    ("Hi. Where is my f*** parcel?", "Thanks, that **helps**.", "opening: swears ('f***')"),
    ("Hi. The parcel was **promised** for Monday.", "This **sh*t** again.",
     "rungs.calm.examples[0]: swears ('sh*t')"),
], ids=["emphasis", "masked-opening", "masked-in-emphasis"])
def test_markdown_emphasis_is_not_swearing_but_a_masked_swear_word_is(
        personas_dir: Path, capsys: pytest.CaptureFixture[str], opening: str, calm: str,
        flagged: str | None) -> None:
    text = (DATA / "valid" / "minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("opening: Hi. I'm calling about a parcel that was supposed to arrive "
                        "on Monday.", f"opening: {json.dumps(opening)}")
    text = text.replace("- Thanks, that helps.", f"- {json.dumps(calm)}")
    (personas_dir / "late-parcel.yaml").write_text(text, encoding="utf-8")
    assert run(personas_dir, "personas", "validate") == (0 if flagged is None else 1)
    out = capsys.readouterr().out
    if flagged is None:
        assert out == ""
    else:
        assert flagged in out and out.count("\n") == 1, out
