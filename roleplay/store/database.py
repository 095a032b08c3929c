"""Which database, and an SQLAlchemy engine on it that keeps the store's promises.

`ROLEPLAY_DATABASE_URL` names the database (`postgresql://user@host/roleplay`, or any
`sqlite:///file` URL); without it the SQLite file at `ROLEPLAY_DB` is used, as before.

SQLite: every writing transaction starts with `BEGIN IMMEDIATE`, so two processes on one
file take turns instead of failing half-way with "database is locked"; the journal is WAL
with `synchronous=FULL`, so a committed turn survives kill -9 and a power cut.
PostgreSQL: psycopg 3, a pool whose connections are checked before use (a restarted
server costs one reconnect, not an error), rows locked with `SELECT ... FOR UPDATE`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from roleplay.errors import StoreError

if TYPE_CHECKING:
    from roleplay.config import Settings

SQLITE_BUSY_S = 30.0
"""How long an SQLite writer waits for another process's transaction before failing."""


def database_url(settings: Settings) -> str:
    """The configured database: `settings.database_url`, else SQLite at `settings.db_path`."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return sqlite_url(settings.db_path)


def sqlite_url(path: Path | str) -> str:
    """The URL of an SQLite file (`:memory:` for a database that lives in this process)."""
    return "sqlite://" if str(path) == ":memory:" else f"sqlite:///{Path(path)}"


def parse_url(url: str) -> URL:
    """`url` as SQLAlchemy's URL; `postgresql://` means psycopg 3. StoreError if unusable."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError("ROLEPLAY_DATABASE_URL is not a database URL; use e.g. "
                         "postgresql://user@host/roleplay or sqlite:///path/to/file") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"ROLEPLAY_DATABASE_URL: {backend!r} databases are not supported; "
                         "use postgresql://... or sqlite:///...")
    return parsed


def shown(url: URL) -> str:
    """The URL as it may be printed: never its password."""
    return url.render_as_string(hide_password=True)


def in_process(url: URL) -> bool:
    """True for an in-memory SQLite database: it lives in this process, and a second engine
    on its URL would be a new, empty one."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: URL) -> Engine:
    """An engine on `url` (see parse_url) configured as the module docstring says."""
    if url.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    memory = in_process(url)
    if not memory:
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False,
                                                "timeout": SQLITE_BUSY_S}}
    if memory:
        # One connection for the whole process: each new one would be a new, empty database.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        # The driver's own transaction handling would BEGIN lazily (and DEFERRED); we
        # begin ourselves, below.
        dbapi.isolation_level = None
        cursor = dbapi.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Readers need no lock under WAL; a writer takes the file's write lock at BEGIN, so
        # a read-then-write transaction can never be refused in the middle.
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine
