"""Turns and transcripts: the record of a call, as the store keeps it and the evaluator reads it."""

from __future__ import annotations

import json
import reprlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from roleplay.appraisal import Move
from roleplay.errors import TranscriptError
from roleplay.limits import MAX_LINE_CHARS
from roleplay.mood import Heard, Rung
from roleplay.yamlfile import FileProblems, bad_character, read_capped

Role = Literal["customer", "trainee"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Turn(BaseModel):
    """One line of the call."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    """Who spoke: the simulated customer or the trainee."""
    content: str
    """What was said, exactly as shown."""
    rung_before: Rung | None = None
    """Trainee turns: the customer's rung when the trainee spoke."""
    rung_after: Rung | None = None
    """Trainee turns: the rung the turn moved the customer to. Customer turns: the rung
    the line was spoken on."""
    reason: str | None = None
    """Trainee turns: why the rung moved (or not)."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the turn was committed."""
    model: str | None = None
    """Customer turns: the model that wrote the line."""
    moves: list[Move] | None = None
    """Trainee turns: the appraisal's moves (`roleplay.appraisal`); None if not appraised."""


class Transcript(BaseModel):
    """A call: its turns in order, and where it came from when it came from a session."""

    model_config = ConfigDict(extra="forbid")

    session_id: str | None = None
    persona_id: str | None = None
    turns: list[Turn] = Field(default_factory=list)

    @property
    def rung(self) -> Rung | None:
        """The customer's current rung: the last turn that recorded one."""
        for turn in reversed(self.turns):
            if turn.rung_after is not None:
                return turn.rung_after
        return None

    @property
    def awaiting_reply(self) -> bool:
        """True when the last turn is the trainee's and the customer has not answered yet."""
        return bool(self.turns) and self.turns[-1].role == "trainee"

    def heard(self) -> list[Heard]:
        """The trainee's turns so far, as the mood ladder remembers them (promises, questions)."""
        return [Heard(signals=[m.signal() for m in t.moves or []], before=t.rung_before,
                      after=t.rung_after)
                for t in self.turns
                if t.role == "trainee" and t.rung_before is not None and t.rung_after is not None]

    def mood_path(self) -> list[Rung]:
        """The rung after each trainee turn, starting with the opening rung."""
        path: list[Rung] = []
        for turn in self.turns:
            if turn.role == "customer" and not path and turn.rung_after is not None:
                path.append(turn.rung_after)
            if turn.role == "trainee" and turn.rung_after is not None:
                if not path and turn.rung_before is not None:
                    path.append(turn.rung_before)
                path.append(turn.rung_after)
        return path


# --- transcript files (for `roleplay evaluate FILE`) -------------------------------------

MAX_FILE_BYTES = 5_000_000
"""A transcript file larger than this is refused before it is parsed."""
MAX_TURN_CHARS = 20_000
"""A turn longer than this is not a line of a call (about ten pages of text)."""
MAX_TURNS = 1_000

_EXPECTED = 'expected {"turns": [{"role": "customer"|"trainee", "content": ...}]}'


def load_transcript_file(path: Path | str) -> Transcript:
    """Read `{"turns": [{"role", "content"}]}` from a JSON file; TranscriptError names the problem.

    Other keys, in the file and in each turn, are ignored. Whatever the bytes are, the answer
    is a Transcript or a TranscriptError, never the JSON parser's own exception.
    """
    file = str(path)
    try:
        raw = read_capped(Path(path), MAX_FILE_BYTES)
    except FileProblems as err:
        problem = err.problems[0]
        raise TranscriptError(f"{file}: {_READ_ERRORS.get(problem.message, problem.message)}"
                              ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TranscriptError(f"{file}: not UTF-8 text (byte {err.start}); save it as UTF-8 "
                              "JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise TranscriptError(f"{file}:{err.lineno}: not valid JSON: {err.msg} (column "
                              f"{err.colno}); {_EXPECTED}") from None
    except RecursionError:
        raise TranscriptError(f"{file}: not a transcript: brackets nested too deep to read; "
                              f"{_EXPECTED}") from None
    except ValueError:
        # The one other ValueError: Python refuses to read an integer of more than 4300
        # digits (CVE-2020-10735).
        raise TranscriptError(f"{file}: not a transcript: a number in it has thousands of "
                              f"digits; {_EXPECTED}") from None
    return transcript_from_data(data, file)


_READ_ERRORS = {"does not exist": "no such file",
                "is a directory": "is a directory; give a JSON transcript file",
                f"is over {MAX_FILE_BYTES} bytes long":
                    f"a transcript file may be at most {MAX_FILE_BYTES:,} bytes"}


def transcript_from_data(data: object, where: str = "transcript") -> Transcript:
    """Validate parsed JSON `{"turns": [...]}` into a Transcript; TranscriptError if malformed."""
    if not isinstance(data, dict):
        raise TranscriptError(f"{where}: expected a JSON object with a \"turns\" list, got "
                              f"{type(data).__name__}")
    turns = data.get("turns")
    if turns is None:
        raise TranscriptError(f"{where}: missing \"turns\"; {_EXPECTED}")
    if not isinstance(turns, list):
        raise TranscriptError(f"{where}: \"turns\" must be a list, got {type(turns).__name__}")
    if len(turns) > MAX_TURNS:
        raise TranscriptError(f"{where}: {len(turns)} turns; at most {MAX_TURNS} are evaluated")
    parsed = [_turn(item, f"{where}: turns[{i}]") for i, item in enumerate(turns)]
    if not any(t.role == "trainee" and t.content.strip() for t in parsed):
        raise TranscriptError(f"{where}: no trainee turn with text; there is nothing to evaluate")
    return Transcript(turns=parsed)


def _turn(item: object, where: str) -> Turn:
    if not isinstance(item, dict):
        raise TranscriptError(f"{where} must be an object with \"role\" and \"content\", got "
                              f"{type(item).__name__}")
    role, content = item.get("role"), item.get("content")
    if role not in ("customer", "trainee"):
        raise TranscriptError(f"{where}.role is {reprlib.repr(role)}; use \"customer\" or "
                              "\"trainee\"")
    if not isinstance(content, str):
        raise TranscriptError(f"{where}.content must be a string, got {type(content).__name__}")
    if len(content) > MAX_TURN_CHARS:
        raise TranscriptError(f"{where}.content is {len(content):,} characters; a turn may be "
                              f"at most {MAX_TURN_CHARS:,}")
    if role == "trainee" and len(content) > MAX_LINE_CHARS:
        raise TranscriptError(f"{where}.content is {len(content):,} characters; a trainee "
                              f"line may be at most {MAX_LINE_CHARS:,} (roleplay/limits.py)")
    bad = bad_character(content)
    if bad is not None:
        raise TranscriptError(f"{where}.content contains {bad[1]}; remove it (a turn is text "
                              "as it was said)")
    return Turn(role=role, content=content)
