"""The character check's vocabulary files are read by the project's one YAML loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from roleplay.character.vocabulary import DIRECTORY, load_vocabulary
from roleplay.errors import ConfigError


def test_a_broken_vocabulary_file_is_named_with_its_line_and_field(tmp_path: Path) -> None:
    for path in DIRECTORY.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "xx.yaml").write_text("ai:\n  - admits\nagents: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_vocabulary(tmp_path)
    assert "xx.yaml:3: agents:" in str(err.value)


def test_the_shipped_vocabulary_covers_every_persona_language() -> None:
    vocabulary = load_vocabulary()
    assert {lang for lang, _ in vocabulary.patterns["ai"]} >= {"en", "fi", "lv", "hu", "no"}
    assert vocabulary.foreign
