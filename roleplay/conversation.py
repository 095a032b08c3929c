"""The conversation engine: one trainee turn in, the customer's next line streamed out.

CONTRACT (the web app, the CLI and the eval harness are written against it):

    engine = ConversationEngine(model, store, prompts_dir, context_tokens)
    session = engine.start(persona, user="ann")          # opening line saved, prompt warmed
    for event in engine.stream(session, "I'm sorry..."):  # trainee turn saved first
        MoodUpdate -> Token* -> (Restart -> Token*)* -> Reply
    engine.reply(session, text) -> Turn                   # the same, without streaming
    engine.retry(session) -> Iterator[ReplyEvent]         # answer a saved trainee turn again
    engine.resume(session_id, personas) -> Session        # every committed turn, from the store

A BackendError raised from stream()/retry() leaves the trainee turn saved and
`session.transcript.awaiting_reply` True, so the caller can offer retry().
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from roleplay.backends import CustomerModel
from roleplay.mood import MoodChange
from roleplay.personas import Persona
from roleplay.store import TranscriptStore
from roleplay.transcript import Transcript, Turn


@dataclass(frozen=True)
class MoodUpdate:
    """The trainee turn was appraised and saved; the customer's rung is now `change.after`."""

    change: MoodChange
    turn: Turn


@dataclass(frozen=True)
class Token:
    """A piece of the customer's reply as it is generated."""

    text: str


@dataclass(frozen=True)
class Restart:
    """The reply so far broke character and is being regenerated: discard what was shown."""

    reason: str


@dataclass(frozen=True)
class Reply:
    """The customer's reply, checked and saved."""

    turn: Turn


ReplyEvent = MoodUpdate | Token | Restart | Reply


@dataclass
class Session:
    """A call in progress: the persona and the transcript so far."""

    persona: Persona
    transcript: Transcript
    sandbox: bool = False
    user: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        assert self.transcript.session_id is not None
        return self.transcript.session_id


class ConversationEngine:
    """Plays personas on a CustomerModel and keeps every turn in a TranscriptStore."""

    def __init__(self, model: CustomerModel, store: TranscriptStore, prompts_dir: Path,
                 context_tokens: int = 4096):
        self.model = model
        self.store = store
        self.prompts_dir = prompts_dir
        self.context_tokens = context_tokens

    def start(self, persona: Persona, user: str | None = None, sandbox: bool = False) -> Session:
        """Create a session, save the opening line, and warm the persona prompt."""
        raise NotImplementedError

    def resume(self, session_id: str, personas: dict[str, Persona]) -> Session:
        """Return the stored session with every committed turn."""
        raise NotImplementedError

    def stream(self, session: Session, text: str) -> Iterator[ReplyEvent]:
        """Save and appraise the trainee turn, then stream the customer's checked reply."""
        raise NotImplementedError

    def retry(self, session: Session) -> Iterator[ReplyEvent]:
        """Generate the customer's reply to the saved trainee turn that has none yet."""
        raise NotImplementedError

    def reply(self, session: Session, text: str) -> Turn:
        """Like stream(), returning only the saved customer turn."""
        raise NotImplementedError
