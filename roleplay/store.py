"""The transcript store: sessions and their turns, committed one turn at a time.

`TranscriptStore` is the interface the rest of the code uses; `SqliteStore` is the default.
Every `add_turn` is its own transaction, so a process killed mid-reply (kill -9, a crashed
backend) loses nothing that was already said. A session's evaluation is kept as the
`EvaluationReport`'s own JSON and comes back as an `EvaluationReport`.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from roleplay.appraisal import Move
from roleplay.errors import StoreError
from roleplay.limits import MAX_LINE_CHARS, line_problem
from roleplay.mood import Rung
from roleplay.report import EvaluationReport
from roleplay.transcript import Transcript, Turn, utcnow


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


class TranscriptStore(Protocol):
    """What the app needs from storage; another database can implement the same methods."""

    def create_session(self, persona_id: str, user: str | None = None, model: str | None = None,
                       sandbox: bool = False) -> str: ...
    def add_turn(self, session_id: str, turn: Turn) -> None: ...
    def load(self, session_id: str) -> Transcript: ...
    def info(self, session_id: str) -> SessionInfo: ...
    def list_sessions(self, user: str | None = None, include_sandbox: bool = False) -> list[SessionInfo]: ...
    def end_session(self, session_id: str) -> None: ...
    def save_report(self, session_id: str, report: EvaluationReport) -> None: ...
    def load_report(self, session_id: str) -> EvaluationReport | None: ...
    def take_back(self, session_id: str) -> Turn | None: ...
    def bind_browser(self, session_id: str, browser: str) -> None: ...
    def signing_key(self) -> bytes: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    persona_id TEXT NOT NULL,
    user TEXT,
    model TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    sandbox INTEGER NOT NULL DEFAULT 0,
    score REAL,
    report TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    session_id TEXT NOT NULL REFERENCES sessions(session_id),
    idx INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('customer', 'trainee')),
    content TEXT NOT NULL,
    rung_before TEXT,
    rung_after TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    model TEXT,
    moves TEXT,
    PRIMARY KEY (session_id, idx)
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user, started_at);
"""


_MOVES: TypeAdapter[list[Move]] = TypeAdapter(list[Move])
"""A trainee turn's appraised moves, kept as JSON in `turns.moves`."""


def _add_moves_column(db: sqlite3.Connection) -> None:
    # Databases made before the appraisal (issue 15) have no `moves` column; adding it as
    # NULL keeps their sessions loadable, as turns that were never appraised.
    columns = {row[1] for row in db.execute("PRAGMA table_info(turns)")}
    if "moves" not in columns:
        db.execute("ALTER TABLE turns ADD COLUMN moves TEXT")
    # Likewise `sessions.browser` (issue 10): older calls are bound to no browser.
    if "browser" not in {row[1] for row in db.execute("PRAGMA table_info(sessions)")}:
        db.execute("ALTER TABLE sessions ADD COLUMN browser TEXT")


def _check_lengths(session_id: str, turns: list[Turn]) -> None:
    # A session saved before lines were limited may hold a line no prompt can take (one of
    # 1 MB took 50 s to score): refused here with the reason, so no reader is stuck on it.
    for i, turn in enumerate(turns):
        if turn.role == "trainee" and len(turn.content) > MAX_LINE_CHARS:
            raise StoreError(f"session {session_id}, turn {i}: the trainee line is "
                             f"{len(turn.content):,} characters, over the limit of "
                             f"{MAX_LINE_CHARS:,}; it was saved by an older version and the "
                             "call cannot be continued or scored")


class SqliteStore:
    """TranscriptStore on one SQLite file; safe to share between threads."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection guarded by a lock: the web app calls from worker threads.
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            _add_moves_column(self._db)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"cannot open the transcript store {path}: {err}; "
                             "set ROLEPLAY_DB to a writable file") from err
        self._lock = threading.Lock()
        self._key: bytes | None = None

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                self._db.row_factory = sqlite3.Row
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise StoreError(f"transcript store {self.path}: {err}") from err

    def create_session(self, persona_id: str, user: str | None = None, model: str | None = None,
                       sandbox: bool = False) -> str:
        """Create a session and return its id."""
        session_id = uuid.uuid4().hex[:12]
        self._run(
            "INSERT INTO sessions (session_id, persona_id, user, model, started_at, sandbox) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, persona_id, user, model, utcnow().isoformat(), int(sandbox)),
        )
        return session_id

    def add_turn(self, session_id: str, turn: Turn) -> None:
        """Append one turn and commit it before returning; a trainee line that breaks the
        limits of roleplay.limits is a StoreError (nothing is stored)."""
        self.info(session_id)
        problem = line_problem(turn.content) if turn.role == "trainee" else None
        if problem is not None:
            raise StoreError(problem)
        self._run(
            "INSERT INTO turns (session_id, idx, role, content, rung_before, rung_after, reason, "
            "created_at, model, moves) VALUES (?, (SELECT COUNT(*) FROM turns WHERE "
            "session_id = ?), ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id, session_id, turn.role, turn.content,
                turn.rung_before.value if turn.rung_before else None,
                turn.rung_after.value if turn.rung_after else None,
                turn.reason, turn.created_at.isoformat(), turn.model,
                _MOVES.dump_json(turn.moves).decode() if turn.moves is not None else None,
            ),
        )

    def load(self, session_id: str) -> Transcript:
        """Return the session's transcript with every committed turn."""
        info = self.info(session_id)
        rows = self._run("SELECT * FROM turns WHERE session_id = ? ORDER BY idx", (session_id,))
        turns = [
            Turn(
                role=r["role"], content=r["content"],
                rung_before=Rung(r["rung_before"]) if r["rung_before"] else None,
                rung_after=Rung(r["rung_after"]) if r["rung_after"] else None,
                reason=r["reason"], created_at=datetime.fromisoformat(r["created_at"]),
                model=r["model"],
                moves=_MOVES.validate_json(r["moves"]) if r["moves"] else None,
            )
            for r in rows
        ]
        _check_lengths(session_id, turns)
        return Transcript(session_id=session_id, persona_id=info.persona_id, turns=turns)

    def info(self, session_id: str) -> SessionInfo:
        """Return one session's metadata; StoreError if there is no such session."""
        rows = self._run(
            "SELECT s.*, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.session_id) AS n "
            "FROM sessions s WHERE session_id = ?", (session_id,))
        if not rows:
            raise StoreError(f"no session {session_id!r}; `roleplay sessions list` shows them")
        return self._info(rows[0])

    def list_sessions(self, user: str | None = None, include_sandbox: bool = False) -> list[SessionInfo]:
        """Return sessions, newest first; only `user`'s when given."""
        sql = ("SELECT s.*, (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.session_id) AS n "
               "FROM sessions s WHERE 1=1")
        args: list[Any] = []
        if user is not None:
            sql += " AND user = ?"
            args.append(user)
        if not include_sandbox:
            sql += " AND sandbox = 0"
        rows = self._run(sql + " ORDER BY started_at DESC", tuple(args))
        return [self._info(r) for r in rows]

    def end_session(self, session_id: str) -> None:
        """Mark the session as ended now."""
        self.info(session_id)
        self._run("UPDATE sessions SET ended_at = ? WHERE session_id = ?",
                  (utcnow().isoformat(), session_id))

    def save_report(self, session_id: str, report: EvaluationReport) -> None:
        """Store the evaluation report (its JSON) and its overall score."""
        self.info(session_id)
        self._run("UPDATE sessions SET report = ?, score = ? WHERE session_id = ?",
                  (report.model_dump_json(), report.overall_score, session_id))

    def load_report(self, session_id: str) -> EvaluationReport | None:
        """Return the stored report, or None if the session was not evaluated.

        A stored report that no longer validates (saved by an older version, or edited by
        hand) is a StoreError that says so: the call can be scored again, nothing crashes.
        """
        self.info(session_id)
        rows = self._run("SELECT report FROM sessions WHERE session_id = ?", (session_id,))
        if not rows or not rows[0]["report"]:
            return None
        try:
            return EvaluationReport.model_validate_json(rows[0]["report"])
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the report"
            raise StoreError(f"the saved report of session {session_id} no longer matches the "
                             f"report format ({err.error_count()} problem(s), first: {where}: "
                             f"{first['msg']}); score the call again to replace it") from None

    def take_back(self, session_id: str) -> Turn | None:
        """Remove the last turn if it is a trainee line the customer has not answered, and
        return it; None (and nothing removed) otherwise."""
        transcript = self.load(session_id)
        if not transcript.awaiting_reply:
            return None
        self._run("DELETE FROM turns WHERE session_id = ? AND idx = ? AND role = 'trainee'",
                  (session_id, len(transcript.turns) - 1))
        return transcript.turns[-1]

    def bind_browser(self, session_id: str, browser: str) -> None:
        """Record the browser a call without login was started in."""
        self.info(session_id)
        self._run("UPDATE sessions SET browser = ? WHERE session_id = ?", (browser, session_id))

    def signing_key(self) -> bytes:
        """The web app's key for signing cookies: random, made on first use and kept beside
        the database (readable by its owner only), so cookies outlive a restart."""
        if str(self.path) == ":memory:":
            if self._key is None:
                self._key = secrets.token_bytes(32)
            return self._key
        path = self.path.with_name(self.path.name + ".key")
        try:
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(32))
            key = path.read_bytes()
        except FileExistsError:  # another process made it first
            key = path.read_bytes()
        except OSError as err:
            raise StoreError(f"cannot keep the cookie key {path}: {err}; make the database's "
                             "directory writable") from err
        if len(key) < 32:
            raise StoreError(f"the cookie key {path} is damaged; delete it (browsers then get "
                             "new cookies)")
        return key

    @staticmethod
    def _info(row: sqlite3.Row) -> SessionInfo:
        return SessionInfo(
            session_id=row["session_id"], persona_id=row["persona_id"], user=row["user"],
            model=row["model"], started_at=datetime.fromisoformat(row["started_at"]),
            ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
            sandbox=bool(row["sandbox"]), score=row["score"], turns=row["n"],
            browser=row["browser"],
        )
