"""Transcripts written as a list of lines, for the evaluator and scorer tests."""

from __future__ import annotations

from roleplay.transcript import Transcript, Turn


def call(*lines: str) -> Transcript:
    """Alternate customer / trainee lines, customer first."""
    roles = ["customer", "trainee"]
    return Transcript(turns=[Turn(role=roles[i % 2], content=text) for i, text in enumerate(lines)])  # type: ignore[arg-type]
