"""Turns and transcripts: the record of a call, as the store keeps it and the evaluator reads it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from roleplay.appraisal import Move
from roleplay.mood import Rung

Role = Literal["customer", "trainee"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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


def load_transcript_file(path: Path | str) -> Transcript:
    """Read `{"turns": [{"role", "content"}]}` from a JSON file; TranscriptError names the problem.

    Other keys, in the file and in each turn, are ignored.
    """
    import json

    from roleplay.errors import TranscriptError

    file = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise TranscriptError(f"{file}: the file is {size:,} bytes; a transcript file may be "
                                  f"at most {MAX_FILE_BYTES:,} bytes")
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise TranscriptError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise TranscriptError(f"{file}: is a directory; give a JSON transcript file") from None
    except OSError as err:
        raise TranscriptError(f"{file}: cannot read: {err.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TranscriptError(f"{file}: not UTF-8 text (byte {err.start}); save it as UTF-8 "
                              "JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise TranscriptError(f"{file}:{err.lineno}: not valid JSON: {err.msg} (column "
                              f"{err.colno}); expected {{\"turns\": [{{\"role\": ..., "
                              "\"content\": ...}]}") from None
    return transcript_from_data(data, file)


def transcript_from_data(data: object, where: str = "transcript") -> Transcript:
    """Validate parsed JSON `{"turns": [...]}` into a Transcript; TranscriptError if malformed."""
    from roleplay.errors import TranscriptError

    if not isinstance(data, dict):
        raise TranscriptError(f"{where}: expected a JSON object with a \"turns\" list, got "
                              f"{type(data).__name__}")
    turns = data.get("turns")
    if turns is None:
        raise TranscriptError(f"{where}: missing \"turns\"; expected {{\"turns\": "
                              "[{\"role\": \"customer\"|\"trainee\", \"content\": ...}]}")
    if not isinstance(turns, list):
        raise TranscriptError(f"{where}: \"turns\" must be a list, got {type(turns).__name__}")
    if len(turns) > MAX_TURNS:
        raise TranscriptError(f"{where}: {len(turns)} turns; at most {MAX_TURNS} are evaluated")
    parsed: list[Turn] = []
    for i, item in enumerate(turns):
        if not isinstance(item, dict):
            raise TranscriptError(f"{where}: turns[{i}] must be an object with \"role\" and "
                                  f"\"content\", got {type(item).__name__}")
        role, content = item.get("role"), item.get("content")
        if role not in ("customer", "trainee"):
            raise TranscriptError(f"{where}: turns[{i}].role is {role!r}; use \"customer\" or "
                                  "\"trainee\"")
        if not isinstance(content, str):
            raise TranscriptError(f"{where}: turns[{i}].content must be a string, got "
                                  f"{type(content).__name__}")
        if len(content) > MAX_TURN_CHARS:
            raise TranscriptError(f"{where}: turns[{i}].content is {len(content):,} characters; "
                                  f"a turn may be at most {MAX_TURN_CHARS:,}")
        parsed.append(Turn(role=role, content=content))
    if not any(t.role == "trainee" and t.content.strip() for t in parsed):
        raise TranscriptError(f"{where}: no trainee turn with text; there is nothing to evaluate")
    return Transcript(turns=parsed)
