"""Turns and transcripts: the record of a call, as the store keeps it and the evaluator reads it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
