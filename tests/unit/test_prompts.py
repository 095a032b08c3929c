"""Prompt files: placeholders are checked when the file is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.config import PROJECT_ROOT
from roleplay.customer_prompt import PromptBuilder
from roleplay.errors import PromptError
from roleplay.personas import find_persona
from roleplay.prompts import load_prompt, read_prompt


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_placeholders_are_filled_and_comments_removed(tmp_path: Path) -> None:
    d = write(tmp_path, "p.md", "<!-- a note for editors -->\nHello {name}, {{literal}}.\n")
    assert load_prompt("p", d, name="Dana") == "Hello Dana, {literal}."


def test_an_unknown_placeholder_names_the_file_and_placeholder(tmp_path: Path) -> None:
    d = write(tmp_path, "p.md", "Hello {nmae}.")
    with pytest.raises(PromptError, match=r"p\.md: unknown placeholder \{nmae\}"):
        load_prompt("p", d, name="Dana")


def test_a_missing_placeholder_names_the_file_and_placeholder(tmp_path: Path) -> None:
    d = write(tmp_path, "p.md", "Hello {name}.")
    with pytest.raises(PromptError, match=r"p\.md: placeholder \{company\} is missing"):
        load_prompt("p", d, name="Dana", company="Acme")


def test_a_missing_file_and_bad_braces_are_prompt_errors(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="not found"):
        read_prompt("nothere", tmp_path)
    with pytest.raises(PromptError, match="plain name"):
        read_prompt("p", write(tmp_path, "p.md", "Hello {name.first}"))
    with pytest.raises(PromptError, match="braces"):
        read_prompt("q", write(tmp_path, "q.md", "Hello {name"))


def test_a_broken_customer_template_fails_when_the_persona_is_loaded(tmp_path: Path) -> None:
    for name in ("customer.md", "customer_direction.md"):
        (tmp_path / name).write_text((PROJECT_ROOT / "prompts" / name).read_text("utf-8"),
                                     encoding="utf-8")
    text = (tmp_path / "customer.md").read_text("utf-8").replace("{wants}", "{wishes}")
    (tmp_path / "customer.md").write_text(text, encoding="utf-8")
    persona = find_persona("crm-outage", PROJECT_ROOT / "personas")
    with pytest.raises(PromptError, match=r"customer\.md: unknown placeholder \{wishes\}"):
        PromptBuilder(persona, tmp_path)
