"""Every loader of a trainer- or operator-edited YAML file answers the inputs that used to
crash a parser with its own error, one `FILE:LINE: FIELD: what; fix` line per problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from roleplay.errors import ConfigError, PersonaError, RoleplayError, RubricError
from roleplay.harness.scripts import load_scripts
from roleplay.harness.thresholds import load_thresholds
from roleplay.personas import load_persona
from roleplay.rubric import load_rubric
from roleplay.users import load_users
from roleplay.yamlfile import joined, load_data

SCRIPTS = Path(__file__).resolve().parents[2] / "evals" / "scripted_trainees.yaml"

LOADERS: dict[str, tuple[Callable[[Path], object], type[RoleplayError]]] = {
    "persona": (load_persona, PersonaError),
    "rubric": (load_rubric, RubricError),
    "users": (load_users, ConfigError),
    "thresholds": (load_thresholds, ConfigError),
    "probes": (lambda path: load_scripts(SCRIPTS, path), ConfigError),
    "lexicon": (lambda path: load_data(path, joined(RoleplayError)), RoleplayError),
}

# What used to escape as ReaderError, RecursionError or ValueError, and what YAML would
# silently accept although a trainer did not mean it.
POISON: dict[str, tuple[bytes, str]] = {
    "nul byte": (b"a: b\nc: d\x00\n", ":2: (file): contains a NUL byte, U+0000; remove it"),
    "lone surrogate": (b"a: \xed\xa0\x80\n", ":1: (file): is not UTF-8 text (byte 0xed)"),
    "brackets 600 deep": (b"a: " + b"[" * 600, ":1: (yaml): not valid YAML: nested more than 32"),
    "braces 600 deep": (b"a: " + b"{a: " * 600, ":1: (yaml): not valid YAML: nested more than"),
    "explicit tag": (b"a: !!timestamp 2001-13-45\n", ":1: (yaml): uses the YAML tag"),
    "two documents": (b"a: b\n---\na: c\n", ":2: (yaml): not valid YAML: expected a single"),
    "duplicate key": (b"a: b\na: c\n", ":2: a: appears twice (first on line 1)"),
    "tab": (b"a:\n\tb: c\n", ":2: (yaml): not valid YAML: while scanning for the next token"),
    "list key": (b"[a]: b\n", ":1: (yaml): a key is not a plain name"),
}


@pytest.mark.parametrize("poison", sorted(POISON))
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_poison_is_a_problem_line_of_the_loaders_own_error(tmp_path: Path, loader: str,
                                                           poison: str) -> None:
    load, error = LOADERS[loader]
    raw, expected = POISON[poison]
    path = tmp_path / "file.yaml"
    path.write_bytes(raw)
    with pytest.raises(error) as caught:
        load(path)
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{path}{expected}") for line in lines), lines
    assert all(line.startswith(f"{path}:") and "; " in line for line in lines), lines


def test_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: [" * 200_000)
    with pytest.raises(ConfigError, match=r"big\.yaml: \(file\): is over \d+ bytes long"):
        load_users(path)


@pytest.mark.parametrize("raw, expected", [
    (b"", ":1: (file): the file is empty; "), (b"- a\n", ":1: (file): the file is a list, not "),
    (None, ": (file): does not exist; ")], ids=["empty", "list", "missing"])
@pytest.mark.parametrize("loader", sorted(set(LOADERS) - {"lexicon"}))
def test_empty_list_and_missing_files_get_one_line_each(tmp_path: Path, loader: str,
                                                        raw: bytes | None, expected: str) -> None:
    load, error = LOADERS[loader]
    path = tmp_path / "file.yaml"
    if raw is not None:
        path.write_bytes(raw)
    with pytest.raises(error) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}{expected}") and "\n" not in str(caught.value)
