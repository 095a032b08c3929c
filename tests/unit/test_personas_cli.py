"""`roleplay personas list|validate|schema` through the command line entry point."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from roleplay.cli import main
from roleplay.config import get_settings

DATA = Path(__file__).parent / "data" / "personas"
SHIPPED = Path(__file__).resolve().parents[2] / "personas"
# FILE:LINE: FIELD: what is wrong; how to fix it
PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+): (?P<field>\S+): .+; .+$")


@pytest.fixture
def personas_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("ROLEPLAY_PERSONAS_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_validate_shipped_personas_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas", "validate", str(SHIPPED)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and re.fullmatch(r"\d+ persona\(s\) valid\n", err)


def test_validate_without_paths_checks_the_configured_directory(
        personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    assert main(["personas", "validate"]) == 0
    (personas_dir / "broken.yaml").write_text("id: x\n", encoding="utf-8")
    assert main(["personas", "validate"]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() and all(line.startswith(f"{personas_dir}/broken.yaml:1: ")
                                    for line in out.splitlines())


def test_validate_broken_files_prints_one_line_per_problem(
        capsys: pytest.CaptureFixture[str]) -> None:
    broken = DATA / "broken"
    assert main(["personas", "validate", str(broken), str(DATA / "valid")]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    named = {Path(m["file"]).name for m in map(PROBLEM_LINE.match, lines) if m}
    assert all(PROBLEM_LINE.match(line) for line in lines), lines
    assert named == {p.name for p in broken.iterdir()}
    assert err.strip().endswith(f"in {len(named)} file(s); 1 persona(s) valid")


def test_validate_a_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas", "validate", "no/such.yaml"]) == 1
    assert capsys.readouterr().out == "no/such.yaml: (file): does not exist; check the path\n"


def test_list_json(personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    assert main(["personas", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{
        "id": "late-parcel", "title": "The parcel is late", "industry": "logistics",
        "language": "en", "start_rung": "passive-angry"}]


def test_list_shows_good_personas_and_reports_broken_ones(
        personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    (personas_dir / "draft.yaml").write_text("title: [\n", encoding="utf-8")
    assert main(["personas", "list", "--json"]) == 1
    out, err = capsys.readouterr()
    assert [row["id"] for row in json.loads(out)] == ["late-parcel"]
    assert err.startswith(f"{personas_dir}/draft.yaml:1: (yaml): ")


def test_list_table(personas_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (personas_dir / "late-parcel.yaml").write_bytes((DATA / "valid" / "minimal.yaml").read_bytes())
    assert main(["personas", "list"]) == 0
    assert capsys.readouterr().out.split() == [
        "late-parcel", "passive-angry", "en", "logistics", "The", "parcel", "is", "late"]


def test_schema_is_json_for_editors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert "start_rung" in schema["required"]
