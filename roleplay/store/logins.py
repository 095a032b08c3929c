"""Failed logins and lock-outs kept in the database: every app process on it counts the
same failures and honours the same locks (the web gate's `LoginThrottle` decides; this
only keeps the record). Times are epoch seconds, the one clock processes share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from roleplay.errors import StoreError
from roleplay.store.database import in_process, make_engine
from roleplay.store.schema import login_failures, login_locks

T = TypeVar("T")


class SqlFailureLog:
    """The `FailureLog` of roleplay.web.gate on an SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    @classmethod
    def beside(cls, store: Any) -> SqlFailureLog | None:
        """The log in the database of the transcript store `store` (a SqlStore, whose
        migrations made the tables), or None for an in-memory database, which no second
        engine can reach (and only one process uses)."""
        url = getattr(store, "url", None)
        if url is None or in_process(url):
            return None
        return cls(make_engine(url))

    def _run(self, work: Callable[[Connection], T]) -> T:
        try:
            with self.engine.begin() as db:
                return work(db)
        except SQLAlchemyError as err:
            raise StoreError(f"the login log in the database: {err}") from err

    def add(self, key: str, at: float, since: float) -> int:
        """Record a failure of `key` at `at`, forget every failure before `since`, and
        return how many `key` has now."""
        def work(db: Connection) -> int:
            db.execute(delete(login_failures).where(login_failures.c.at < since))
            db.execute(insert(login_failures).values(key=key, at=at))
            return int(db.execute(select(func.count()).where(
                login_failures.c.key == key)).scalar_one())
        return self._run(work)

    def count(self, key: str, since: float) -> int:
        """Failures of `key` at or after `since`."""
        return self._run(lambda db: int(db.execute(select(func.count()).where(
            login_failures.c.key == key, login_failures.c.at >= since)).scalar_one()))

    def lock(self, key: str, until: float) -> None:
        """Lock `key` until `until`, or later if another process locked it longer."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(login_locks).values(key=key, until=until)
        longer = case((login_locks.c.until < statement.excluded.until,
                       statement.excluded.until), else_=login_locks.c.until)
        self._run(lambda db: db.execute(statement.on_conflict_do_update(
            index_elements=["key"], set_={"until": longer})))

    def locked_until(self, key: str) -> float:
        """When `key`'s lock ends (0 if it has none)."""
        until = self._run(lambda db: db.execute(select(login_locks.c.until).where(
            login_locks.c.key == key)).scalar())
        return float(until or 0.0)

    def forget(self, key: str, latest_only: bool = False) -> None:
        """Forget `key`'s failures, or only its latest one."""
        where = login_failures.c.key == key
        if latest_only:
            latest = select(login_failures.c.id).where(where).order_by(
                login_failures.c.at.desc(), login_failures.c.id.desc()).limit(1)
            where = login_failures.c.id.in_(latest.scalar_subquery())
        self._run(lambda db: db.execute(delete(login_failures).where(where)))
