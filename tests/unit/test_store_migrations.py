"""The schema's versions: a database of the previous release upgrades without losing a
session, the migrations make exactly the tables roleplay.store.schema defines, and
`roleplay db upgrade` / `roleplay db current` say where a database stands."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from roleplay import cli
from roleplay.config import Settings
from roleplay.mood import Rung
from roleplay.report import EvaluationReport, PrincipleResult
from roleplay.store import SqliteStore, SqlStore, migrate
from roleplay.store.database import parse_url
from roleplay.store.schema import metadata
from roleplay.transcript import Turn

# The previous release's hand-written schema (roleplay/store.py before SQLAlchemy), with the
# scorer's cache table its ResultCache made in the same file.
PREVIOUS_RELEASE = """
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
, browser TEXT);
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
CREATE TABLE IF NOT EXISTS scoring_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

REPORT = EvaluationReport(overall_score=75.0, principles=[PrincipleResult(
    id="empathy", title="Acknowledge", status="met", score=100.0, explanation="Yes.")])


def previous_release_db(path: Path, ddl: str = PREVIOUS_RELEASE) -> None:
    """A database as the previous release left it: two sessions, turns, a report, a key."""
    moves = ('[{"kind": "empathy", "confidence": 1.0, "quote": "Sorry", "start": 0, '
             '"end": 5, "source": "lexicon"}]')
    with sqlite3.connect(path) as db:
        db.executescript(ddl)
        db.execute("INSERT INTO sessions (session_id, persona_id, user, model, started_at, "
                   "ended_at, sandbox, score, report) VALUES ('s1', 'crm-outage', 'ann', 'm', "
                   "'2026-11-30T10:00:00+00:00', '2026-11-30T10:05:00+00:00', 0, 75.0, ?)",
                   (REPORT.model_dump_json(),))
        db.execute("INSERT INTO sessions (session_id, persona_id, user, started_at, sandbox) "
                   "VALUES ('s2', 'crm-outage', 'bob', '2026-11-30T11:00:00+00:00', 1)")
        db.execute("INSERT INTO turns VALUES ('s1', 0, 'customer', 'It is down!', NULL, "
                   "'escalated-angry', NULL, '2026-11-30T10:00:01+00:00', 'm', NULL)")
        db.execute("INSERT INTO turns VALUES ('s1', 1, 'trainee', 'Sorry, on it.', "
                   "'escalated-angry', 'passive-angry', 'down: apologised', "
                   "'2026-11-30T10:00:09+00:00', NULL, ?)", (moves,))
        db.execute("INSERT INTO scoring_cache VALUES ('check:1', '0.9')")
    path.with_name(path.name + ".key").write_bytes(b"k" * 32)


def test_a_previous_release_database_upgrades_without_losing_anything(tmp_path: Path) -> None:
    path = tmp_path / "roleplay.sqlite3"
    previous_release_db(path)
    store = SqliteStore(path)  # upgrades on open
    call = store.load("s1")
    assert [t.content for t in call.turns] == ["It is down!", "Sorry, on it."]
    assert call.turns[1].rung_after == Rung.PASSIVE_ANGRY and call.turns[1].moves
    assert call.turns[1].moves[0].kind == "empathy"
    info = store.info("s1")
    assert (info.user, info.score, info.turns, info.sandbox) == ("ann", 75.0, 2, False)
    assert info.ended_at is not None and store.load_report("s1") == REPORT
    assert [s.session_id for s in store.list_sessions(include_sandbox=True)] == ["s2", "s1"]
    assert [s.session_id for s in store.list_sessions()] == ["s1"]  # s2 is a try-out
    assert store.get_cached("check:1") == "0.9"
    assert store.signing_key() == b"k" * 32  # cookies of that release stay valid
    # The call goes on where it was.
    store.add_turn("s1", Turn(role="customer", content="Fine."))
    assert len(SqliteStore(path).load("s1").turns) == 3
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (migrate.head(),)]


def test_an_early_database_without_later_columns_upgrades(tmp_path: Path) -> None:
    # Before the appraisal and browser binding: no turns.moves, no sessions.browser, no cache.
    early = (PREVIOUS_RELEASE.replace(", browser TEXT", "").replace("    moves TEXT,\n", "")
             .split("CREATE TABLE IF NOT EXISTS scoring_cache")[0])
    path = tmp_path / "early.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(early)
        db.execute("INSERT INTO sessions (session_id, persona_id, started_at) VALUES "
                   "('s1', 'p', '2026-11-30T10:00:00+00:00')")
        db.execute("INSERT INTO turns VALUES ('s1', 0, 'trainee', 'hello', NULL, NULL, NULL, "
                   "'2026-11-30T10:00:01+00:00', NULL)")
    store = SqliteStore(path)
    assert store.load("s1").turns[0].moves is None and store.info("s1").browser is None
    store.bind_browser("s1", "b1")
    store.put_cached("k", "v")
    assert store.info("s1").browser == "b1" and store.get_cached("k") == "v"


def test_the_migrations_make_exactly_the_schema_module_s_tables(store_url: str) -> None:
    # A new database is made from the metadata; an old one by the migrations: both must
    # agree, or a table another feature adds would exist on one kind of database only.
    engine = create_engine(parse_url(store_url))
    try:
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), "head")
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
            assert differences == []
            assert migrate.current(conn) == migrate.head()
    finally:
        engine.dispose()
    SqlStore(store_url).create_session("p1")  # and the store opens it as it is


def test_db_current_and_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "roleplay.sqlite3"
    previous_release_db(path)
    settings = Settings(db_path=path)
    assert cli.main(["db", "current"], settings=settings) == 1
    assert "roleplay db upgrade" in capsys.readouterr().out
    assert cli.main(["db", "upgrade"], settings=settings) == 0
    assert f"schema {migrate.head()}" in capsys.readouterr().out
    assert cli.main(["db", "current"], settings=settings) == 0
    assert SqliteStore(path).info("s1").turns == 2
    bad = Settings(database_url="postgresql://ann:hunter2@127.0.0.1:9/roleplay")
    assert cli.main(["db", "current"], settings=bad) == 1
    err = capsys.readouterr().err
    assert "cannot open the database" in err and "hunter2" not in err
