"""What the app needs from storage: the `TranscriptStore` interface and its records."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from roleplay.errors import StoreError
from roleplay.report import EvaluationReport
from roleplay.store.branches import BranchInfo, Origin
from roleplay.transcript import Transcript, Turn


class SessionInfo(BaseModel):
    """A session's metadata, without its turns."""

    model_config = ConfigDict(extra="forbid")

    session_id: str
    persona_id: str
    user: str | None
    model: str | None
    started_at: datetime
    ended_at: datetime | None = None
    sandbox: bool = False
    """Trainer try-outs: kept for recovery, never listed in anyone's history."""
    score: float | None = None
    """The evaluation's overall score, once the call has been evaluated."""
    turns: int = 0
    browser: str | None = None
    """With login off, the browser the call was started in (its signed cookie's id)."""


class SessionBusy(StoreError):
    """Another request (in this process or another) is making this session's reply."""


class TranscriptStore(Protocol):
    """What the app needs from storage; another database can implement the same methods."""

    def create_session(self, persona_id: str, user: str | None = None, model: str | None = None,
                       sandbox: bool = False) -> str: ...
    def add_turn(self, session_id: str, turn: Turn) -> None: ...
    def load(self, session_id: str, branch: int | None = None) -> Transcript: ...
    def info(self, session_id: str) -> SessionInfo: ...
    def list_sessions(self, user: str | None = None, include_sandbox: bool = False) -> list[SessionInfo]: ...
    def end_session(self, session_id: str) -> None: ...
    def save_report(self, session_id: str, report: EvaluationReport,
                    branch: int | None = None) -> None: ...
    def load_report(self, session_id: str, branch: int | None = None
                    ) -> EvaluationReport | None: ...
    # Branches of a call (roleplay.store.branches); `branch=None` above is the one played.
    def branch(self, session_id: str, at: int, origin: Origin = "rewind") -> int: ...
    def use_branch(self, session_id: str, branch: int, reopen: bool = False) -> None: ...
    def current_branch(self, session_id: str) -> int: ...
    def branches(self, session_id: str) -> list[BranchInfo]: ...
    def take_back(self, session_id: str) -> Turn | None: ...
    def bind_browser(self, session_id: str, browser: str) -> None: ...
    def signing_key(self) -> bytes: ...
    def answering(self, session_id: str) -> AbstractContextManager[None]:
        """Hold the session while its customer answers; SessionBusy if someone else does."""
        ...
    def get_cached(self, key: str) -> str | None: ...
    def put_cached(self, key: str, value: str) -> None: ...
