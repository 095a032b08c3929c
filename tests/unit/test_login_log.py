"""Failed logins kept in the database (roleplay.store.logins): app processes on one
database count the same failures and honour the same locks. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from roleplay.store import SqlStore
from roleplay.store.logins import SqlFailureLog
from roleplay.web.gate import FailureLog, LoginThrottle, MemoryFailureLog


def _sql_log(url: str) -> SqlFailureLog:
    log = SqlFailureLog.beside(SqlStore(url))  # opening the store makes the tables
    assert log is not None
    return log


@pytest.fixture(params=["memory", "database"])
def log(request: pytest.FixtureRequest, store_url: str) -> FailureLog:
    return MemoryFailureLog() if request.param == "memory" else _sql_log(store_url)


def test_the_throttle_slows_then_locks_on_either_log(log: FailureLog) -> None:
    now = [1_000_000.0]
    throttle = LoginThrottle(clock=lambda: now[0], log=log)
    waits = []
    for _ in range(4):
        throttle.attempt("ann", "10.0.0.1")
        waits.append(throttle.wait("ann"))
    assert waits == [0.5, 1.0, 2.0, 4.0] and throttle.locked_for("ann", "10.0.0.1") == 0
    throttle.attempt("ann", "10.0.0.1")
    assert throttle.locked_for("ann", "10.0.0.2") == 15 * 60  # per user, from anywhere
    now[0] += 15 * 60 - 1
    assert throttle.locked_for("ann", "10.0.0.1") == 1
    now[0] += 1
    assert throttle.locked_for("ann", "10.0.0.1") == 0
    throttle.success("ann", "10.0.0.1")
    throttle.attempt("ann", "10.0.0.1")
    assert throttle.wait("ann") == 0.5  # a right password starts the count afresh
    # The address keeps its failures but the one the success took back: 5 - 1 + 1.
    assert log.count("address:10.0.0.1", now[0] - 15 * 60) == 5


def test_failures_spread_over_two_processes_lock_on_both(store_url: str) -> None:
    # Two processes: each its own store, engine and throttle, one database.
    a = LoginThrottle(log=_sql_log(store_url))
    b = LoginThrottle(log=_sql_log(store_url))
    for throttle in (a, b, a, b):
        throttle.attempt("mal", "10.0.0.9")
    assert a.locked_for("mal", "10.0.0.9") == b.locked_for("mal", "10.0.0.9") == 0
    b.attempt("mal", "10.0.0.9")  # the fifth, on the other process
    assert a.locked_for("mal", "10.0.0.1") > 14 * 60
    assert b.locked_for("mal", "10.0.0.1") > 14 * 60
    assert a.locked_for("ann", "10.0.0.1") == 0


def test_a_longer_lock_of_another_process_stays(store_url: str) -> None:
    log = _sql_log(store_url)
    log.lock("user:mal", 2_000.0)
    log.lock("user:mal", 1_500.0)
    assert log.locked_until("user:mal") == 2_000.0
    log.lock("user:mal", 2_500.0)
    assert log.locked_until("user:mal") == 2_500.0


def test_an_in_memory_store_keeps_its_logins_in_the_process() -> None:
    assert SqlFailureLog.beside(SqlStore("sqlite:///:memory:")) is None
