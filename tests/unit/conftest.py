"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.rubric import Rubric, load_rubric

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    """The shipped rubric (`prompts/rubric.yaml`)."""
    return load_rubric(REPO / "prompts" / "rubric.yaml")
