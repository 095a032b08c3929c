"""`SqlStore`: the TranscriptStore on SQLite or PostgreSQL, through SQLAlchemy Core.

Every write is its own transaction, committed before the method returns, so a process
killed mid-reply (kill -9, a crashed backend) loses nothing that was already said, and the
next model call never starts before the turn it answers is stored. `add_turn` locks the
session's row first, so two writers on one session queue instead of interleaving, on both
databases; `answering` is the "still answering" rule, kept in the database so that it
holds across app processes.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, Row, delete, false, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from roleplay.appraisal import Move
from roleplay.errors import StoreError
from roleplay.limits import MAX_LINE_CHARS, line_problem
from roleplay.mood import Rung
from roleplay.report import EvaluationReport
from roleplay.store import branches as tree
from roleplay.store import migrate
from roleplay.store.branches import BranchInfo, Origin
from roleplay.store.database import make_engine, parse_url, shown, sqlite_url
from roleplay.store.protocol import SessionBusy, SessionInfo
from roleplay.store.schema import answering, app_keys, scoring_cache, sessions, turns
from roleplay.transcript import Transcript, Turn, utcnow

log = logging.getLogger(__name__)

ANSWER_LEASE_S = 45.0
"""How long a session stays marked "still answering" without renewal: the holder renews it
while the reply runs, so this is how long a call stays blocked after its process died."""

_MOVES: TypeAdapter[list[Move]] = TypeAdapter(list[Move])
_COOKIE_KEY = "cookies"


def _check_lengths(session_id: str, loaded: list[Turn]) -> None:
    # A session saved before lines were limited may hold a line no prompt can take (one of
    # 1 MB took 50 s to score): refused here with the reason, so no reader is stuck on it.
    for i, turn in enumerate(loaded):
        if turn.role == "trainee" and len(turn.content) > MAX_LINE_CHARS:
            raise StoreError(f"session {session_id}, turn {i}: the trainee line is "
                             f"{len(turn.content):,} characters, over the limit of "
                             f"{MAX_LINE_CHARS:,}; it was saved by an older version and the "
                             "call cannot be continued or scored")


def _turn(row: Row[Any]) -> Turn:
    return Turn(
        role=row.role, content=row.content,
        rung_before=Rung(row.rung_before) if row.rung_before else None,
        rung_after=Rung(row.rung_after) if row.rung_after else None,
        reason=row.reason, created_at=row.created_at, model=row.model,
        moves=_MOVES.validate_json(row.moves) if row.moves else None,
    )


def _info(row: Row[Any]) -> SessionInfo:
    return SessionInfo(
        session_id=row.session_id, persona_id=row.persona_id, user=row.user, model=row.model,
        started_at=row.started_at, ended_at=row.ended_at, sandbox=bool(row.sandbox),
        score=row.score, turns=row.n, browser=row.browser,
    )


_WITH_COUNT = select(
    sessions,
    select(func.count()).where(turns.c.session_id == sessions.c.session_id)
    .scalar_subquery().label("n"),
)


class SqlStore:
    """TranscriptStore on the database at `url` (see roleplay.store.database); safe to
    share between threads, and between processes on one database. Opening it upgrades the
    database's schema to this version's (roleplay.store.migrate)."""

    def __init__(self, url: str, *, answer_lease_s: float = ANSWER_LEASE_S,
                 clock: Callable[[], float] = time.time):
        self.url = parse_url(url)
        self.path: Path | None = None
        """The SQLite file, for messages and the old cookie key beside it (None otherwise)."""
        if self.url.get_backend_name() == "sqlite":
            self.path = Path(self.url.database or ":memory:")
        self.lease_s = answer_lease_s
        self._clock = clock
        # An in-memory SQLite database is one connection, so its transactions take turns.
        self._serial: AbstractContextManager[Any] = (
            threading.RLock() if str(self.path) == ":memory:" else nullcontext())
        self._held: dict[str, str] = {}
        self._held_lock = threading.Lock()
        self._renewer: threading.Thread | None = None
        try:
            self._engine = make_engine(self.url)
            self._reader = self._engine.execution_options(readonly=True)
            with self._serial:
                if not migrate.is_current(self._engine):
                    migrate.upgrade(self._engine)
        except (SQLAlchemyError, OSError) as err:
            if self.path is not None:
                raise StoreError(f"cannot open the transcript store {self.path}: "
                                 f"{_reason(err)}; set ROLEPLAY_DB to a writable file") from err
            raise StoreError(f"cannot open the database {shown(self.url)}: {_reason(err)}; "
                             "check ROLEPLAY_DATABASE_URL and that the server is up") from err

    def __repr__(self) -> str:
        return f"SqlStore({shown(self.url)!r})"

    def close(self) -> None:
        """Close the pooled connections (the store stays usable: they reopen on use)."""
        self._engine.dispose()

    @contextmanager
    def _tx(self, write: bool = True, conflicts: bool = False) -> Iterator[Connection]:
        """One transaction, committed on leaving; database errors become StoreError, but
        IntegrityError passes through with `conflicts` (the caller lost a race it handles)."""
        try:
            with self._serial, (self._engine if write else self._reader).begin() as conn:
                yield conn
        except SQLAlchemyError as err:
            if conflicts and isinstance(err, IntegrityError):
                raise
            raise StoreError(f"transcript store {self.path or shown(self.url)}: "
                             f"{_reason(err)}") from err

    def _row(self, conn: Connection, session_id: str, lock: bool = False) -> Row[Any]:
        query = select(sessions.c.session_id).where(sessions.c.session_id == session_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise StoreError(f"no session {session_id!r}; `roleplay sessions list` shows them")
        return row

    # --- sessions and turns ----------------------------------------------------------

    def create_session(self, persona_id: str, user: str | None = None, model: str | None = None,
                       sandbox: bool = False) -> str:
        """Create a session and return its id."""
        session_id = uuid.uuid4().hex[:12]
        with self._tx() as conn:
            conn.execute(insert(sessions).values(
                session_id=session_id, persona_id=persona_id, user=user, model=model,
                started_at=utcnow(), sandbox=sandbox))
        return session_id

    def add_turn(self, session_id: str, turn: Turn) -> None:
        """Append one turn and commit it before returning; a trainee line that breaks the
        limits of roleplay.limits is a StoreError (nothing is stored)."""
        with self._tx() as conn:
            self._row(conn, session_id, lock=True)  # writers on one session queue here
            problem = line_problem(turn.content) if turn.role == "trainee" else None
            if problem is not None:
                raise StoreError(problem)
            # On the branch being played, after its last turn (roleplay.store.branches).
            conn.execute(insert(turns).values(
                session_id=session_id, **tree.placement(conn, session_id), role=turn.role,
                content=turn.content,
                rung_before=turn.rung_before.value if turn.rung_before else None,
                rung_after=turn.rung_after.value if turn.rung_after else None,
                reason=turn.reason, created_at=turn.created_at, model=turn.model,
                moves=_MOVES.dump_json(turn.moves).decode() if turn.moves is not None else None,
            ))

    def load(self, session_id: str, branch: int | None = None) -> Transcript:
        """Return the transcript of `branch` (the one being played by default) with every
        committed turn."""
        with self._tx(write=False) as conn:
            info = self._info(conn, session_id)
            rows = tree.path_rows(conn, session_id, branch)
        try:
            loaded = [_turn(row) for row in rows]
        except (ValidationError, ValueError) as err:
            # A turn written by another version (a newer one, or a hand edit): said, not a
            # traceback; the session's other data stays as it is.
            raise StoreError(f"session {session_id}: a stored turn no longer matches this "
                             f"version's turn format ({str(err).splitlines()[0]}); run the "
                             "roleplay version that wrote it") from None
        _check_lengths(session_id, loaded)
        return Transcript(session_id=session_id, persona_id=info.persona_id, turns=loaded)

    def _info(self, conn: Connection, session_id: str) -> SessionInfo:
        row = conn.execute(_WITH_COUNT.where(sessions.c.session_id == session_id)).first()
        if row is None:
            raise StoreError(f"no session {session_id!r}; `roleplay sessions list` shows them")
        return _info(row)

    def info(self, session_id: str) -> SessionInfo:
        """Return one session's metadata; StoreError if there is no such session."""
        with self._tx(write=False) as conn:
            return self._info(conn, session_id)

    def list_sessions(self, user: str | None = None, include_sandbox: bool = False) -> list[SessionInfo]:
        """Return sessions, newest first; only `user`'s when given."""
        query = _WITH_COUNT
        if user is not None:
            query = query.where(sessions.c.user == user)
        if not include_sandbox:
            query = query.where(sessions.c.sandbox == false())
        with self._tx(write=False) as conn:
            rows = conn.execute(query.order_by(sessions.c.started_at.desc())).all()
        return [_info(row) for row in rows]

    def _set(self, session_id: str, **values: Any) -> None:
        with self._tx() as conn:
            self._row(conn, session_id, lock=True)
            conn.execute(update(sessions).where(sessions.c.session_id == session_id)
                         .values(**values))

    def end_session(self, session_id: str) -> None:
        """Mark the session as ended now."""
        self._set(session_id, ended_at=utcnow())

    def save_report(self, session_id: str, report: EvaluationReport,
                    branch: int | None = None) -> None:
        """Store the evaluation report (its JSON) and its overall score, as the report of
        `branch` (the one being played by default)."""
        with self._tx() as conn:
            self._row(conn, session_id, lock=True)
            tree.save_report(conn, session_id, branch, report.model_dump_json(),
                                 report.overall_score)

    def load_report(self, session_id: str, branch: int | None = None
                    ) -> EvaluationReport | None:
        """Return the stored report of `branch` (the one being played by default), or None
        if it was not evaluated.

        A stored report that no longer validates (saved by an older version, or edited by
        hand) is a StoreError that says so: the call can be scored again, nothing crashes.
        """
        with self._tx(write=False) as conn:
            self._row(conn, session_id)
            saved = tree.report_json(conn, session_id, branch)
        if not saved:
            return None
        try:
            return EvaluationReport.model_validate_json(saved)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the report"
            raise StoreError(f"the saved report of session {session_id} no longer matches the "
                             f"report format ({err.error_count()} problem(s), first: {where}: "
                             f"{first['msg']}); score the call again to replace it") from None

    def take_back(self, session_id: str) -> Turn | None:
        """Remove the last turn if it is a trainee line the customer has not answered, and
        return it; None (and nothing removed) otherwise."""
        with self._tx() as conn:
            self._row(conn, session_id, lock=True)
            # The branch being played's last turn, unless another branch grows from it.
            last = tree.leaf_row(conn, session_id)
            if last is None or last.role != "trainee":
                return None
            conn.execute(delete(turns).where(turns.c.session_id == session_id,
                                             turns.c.idx == last.idx))
        return _turn(last)

    # --- branches (roleplay.store.branches) -----------------------------------------

    def branch(self, session_id: str, at: int, origin: Origin = "rewind") -> int:
        """Start a branch that takes the trainee's turn at position `at` of the branch being
        played again; it becomes the branch being played. Returns its number."""
        with self._tx() as conn:
            self._row(conn, session_id, lock=True)
            return tree.start(conn, session_id, at, origin)

    def use_branch(self, session_id: str, branch: int, reopen: bool = False) -> None:
        """Play `branch` from now on (0: the call as first played); `reopen` an ended call
        so it can be continued from that branch."""
        with self._tx() as conn:
            self._row(conn, session_id, lock=True)
            tree.switch(conn, session_id, branch, reopen)

    def current_branch(self, session_id: str) -> int:
        """The branch being played."""
        with self._tx(write=False) as conn:
            return tree.current(conn, session_id)

    def branches(self, session_id: str) -> list[BranchInfo]:
        """Every branch of the call, branch 0 (the call as first played) first."""
        with self._tx(write=False) as conn:
            return tree.listing(conn, session_id)

    def bind_browser(self, session_id: str, browser: str) -> None:
        """Record the browser a call without login was started in."""
        self._set(session_id, browser=browser)

    # --- "still answering", across processes -----------------------------------------

    @contextmanager
    def answering(self, session_id: str) -> Iterator[None]:
        """Mark the session as answering for the duration; SessionBusy if it already is
        (by another request of this process or of another). The mark is renewed while held
        and lapses `lease_s` after a holder died without letting go."""
        holder = uuid.uuid4().hex
        if not self._claim(session_id, holder):
            raise SessionBusy("the customer is still answering; wait for them to finish")
        with self._held_lock:
            self._held[session_id] = holder
            if self._renewer is None:
                self._renewer = threading.Thread(target=self._renew, daemon=True,
                                                 name="roleplay-answering")
                self._renewer.start()
        try:
            yield
        finally:
            with self._held_lock:
                self._held.pop(session_id, None)
            try:
                with self._tx() as conn:
                    conn.execute(delete(answering).where(answering.c.session_id == session_id,
                                                         answering.c.holder == holder))
            except StoreError as err:  # not renewed any more, so it lapses by itself
                log.warning("could not clear the answering mark of %s: %s", session_id, err)

    def _claim(self, session_id: str, holder: str) -> bool:
        until = self._clock() + self.lease_s
        try:
            with self._tx(conflicts=True) as conn:
                self._row(conn, session_id)
                held = conn.execute(select(answering.c.until).where(
                    answering.c.session_id == session_id).with_for_update()).first()
                if held is None:
                    conn.execute(insert(answering).values(session_id=session_id,
                                                          holder=holder, until=until))
                elif held.until > self._clock():
                    return False
                else:  # its holder died: the mark lapsed
                    conn.execute(update(answering).where(answering.c.session_id == session_id)
                                 .values(holder=holder, until=until))
        except IntegrityError:  # PostgreSQL: another process inserted it first
            return False
        return True

    def _renew(self) -> None:
        while True:
            time.sleep(self.lease_s / 4)
            with self._held_lock:
                if not self._held:
                    self._renewer = None
                    return
            self.renew_marks()

    def renew_marks(self) -> int:
        """Push back the lapse of every mark this store holds (a thread does it every
        lease_s / 4 while one is held); return how many were renewed."""
        with self._held_lock:
            held = dict(self._held)
        renewed = 0
        for session_id, holder in held.items():
            try:
                with self._tx() as conn:
                    renewed += conn.execute(update(answering).where(
                        answering.c.session_id == session_id, answering.c.holder == holder)
                        .values(until=self._clock() + self.lease_s)).rowcount
            except StoreError as err:  # the next round tries again
                log.warning("could not renew the answering mark of %s: %s", session_id, err)
        return renewed

    # --- keys and the scorer's cache --------------------------------------------------

    def signing_key(self) -> bytes:
        """The web app's key for signing cookies: random, made on first use and kept in
        the database, so every app process shares it and cookies outlive a restart. A key
        file an earlier version kept beside the SQLite file is adopted."""
        for _ in range(2):
            try:
                with self._tx(conflicts=True) as conn:
                    key = conn.execute(select(app_keys.c.value)
                                       .where(app_keys.c.name == _COOKIE_KEY)).scalar()
                    if key is None:
                        key = self._old_key_file() or secrets.token_bytes(32)
                        conn.execute(insert(app_keys).values(name=_COOKIE_KEY, value=key))
                break
            except IntegrityError:  # another process made it first: read theirs
                continue
        if key is None or len(key) < 32:
            raise StoreError("the cookie key in the database is damaged; delete the "
                             "'cookies' row of app_keys (browsers then get new cookies)")
        return bytes(key)

    def _old_key_file(self) -> bytes | None:
        if self.path is None or str(self.path) == ":memory:":
            return None
        try:
            key = self.path.with_name(self.path.name + ".key").read_bytes()
        except OSError:
            return None
        return key if len(key) >= 32 else None

    def get_cached(self, key: str) -> str | None:
        """The scorer's answer kept under `key`, or None."""
        with self._tx(write=False) as conn:
            found: str | None = conn.execute(select(scoring_cache.c.value)
                                             .where(scoring_cache.c.key == key)).scalar()
            return found

    def put_cached(self, key: str, value: str) -> None:
        """Keep the scorer's answer `value` under `key` (replacing one kept before)."""
        dialect = postgresql if self.url.get_backend_name() == "postgresql" else sqlite
        statement = dialect.insert(scoring_cache).values(key=key, value=value)
        with self._tx() as conn:
            conn.execute(statement.on_conflict_do_update(
                index_elements=["key"], set_={"value": statement.excluded.value}))


def _reason(err: BaseException) -> str:
    # The driver's own message, without SQLAlchemy's echo of the statement and its
    # parameters (a trainee's line, a URL's password).
    orig = getattr(err, "orig", None)
    return str(orig or err).strip().splitlines()[0] if str(orig or err).strip() else type(err).__name__


class SqliteStore(SqlStore):
    """The store on one SQLite file (`:memory:` for one that lives in this process)."""

    def __init__(self, path: Path | str, **options: Any):
        super().__init__(sqlite_url(path), **options)
        self.path = Path(path)
