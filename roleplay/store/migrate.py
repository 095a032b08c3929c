"""The schema's version: Alembic migrations shipped in the package, applied in place.

`upgrade(engine)` brings a database to the newest schema (`roleplay db upgrade`, and every
store on open): an empty database is made from `schema.metadata` and stamped at the head;
a database of an earlier release (no version table: the first release's hand-written
schema) or of an older version runs the migrations. Upgrades take a lock first (the
SQLite write lock, a PostgreSQL advisory lock), so app processes starting at once do not
run the same migration twice.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

# Imported for its tables: they join `metadata`, so a new database gets them too (issue 12).
from roleplay.coaching import tables as _coaching_tables  # noqa: F401
from roleplay.errors import StoreError
from roleplay.store.database import make_engine, parse_url, shown
from roleplay.store.schema import metadata

MIGRATIONS = Path(__file__).parent / "migrations"

_UPGRADE_LOCK = 7_466_137_391
"""The PostgreSQL advisory lock held while migrating (any constant the app alone uses)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the shipped migrations, on `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head() -> str:
    """The newest schema revision this version of roleplay ships."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None, "roleplay/store/migrations/versions has no migration"
    return found


def current(connection: Connection) -> str | None:
    """The database's schema revision; None for an empty or first-release database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to `head()`; return its revision before and after."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        before = current(conn)
        if before == head():
            return before, before
        if before is None and not inspect(conn).has_table("sessions"):
            metadata.create_all(conn)
            command.stamp(alembic_config(conn), "head")
        else:
            command.upgrade(alembic_config(conn), "head")
        return before, head()


def is_current(engine: Engine) -> bool:
    """True when the database is at `head()` (the cheap check made on every open)."""
    with engine.connect().execution_options(readonly=True) as conn:
        return current(conn) == head()


def run(url: str, apply: bool) -> tuple[str, str | None, str]:
    """For `roleplay db`: the database as it may be printed, its revision (after upgrading
    it, with `apply`) and `head()`. StoreError if it cannot be reached."""
    parsed = parse_url(url)
    try:
        engine = make_engine(parsed)
        try:
            if apply:
                upgrade(engine)
            with engine.connect().execution_options(readonly=True) as conn:
                return shown(parsed), current(conn), head()
        finally:
            engine.dispose()
    except (SQLAlchemyError, OSError) as err:
        raise StoreError(f"cannot open the database {shown(parsed)}: "
                         f"{str(getattr(err, 'orig', None) or err).strip()}") from err
