"""The transcript store on SQLite and on PostgreSQL: sessions and turns, committed one at a
time, listed and resumed, reports, the "still answering" mark, keys and the scorer's cache.

Every test taking `store_url` runs twice, on a new SQLite file and on a new database of the
throwaway PostgreSQL server (tests/postgres_server.py; `-m postgres` selects those).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from roleplay.config import Settings
from roleplay.errors import StoreError
from roleplay.mood import Rung
from roleplay.report import EvaluationReport, Evidence, PrincipleResult
from roleplay.store import SessionBusy, SqliteStore, SqlStore, open_store
from roleplay.store.database import parse_url
from roleplay.transcript import Turn


def trainee(text: str, before: Rung, after: Rung, reason: str) -> Turn:
    return Turn(role="trainee", content=text, rung_before=before, rung_after=after, reason=reason)


def raw_sql(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Run `sql` on a connection of its own: what another process (or a hand edit) sees."""
    engine = create_engine(parse_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_turns_come_back_in_order_with_every_field(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("crm-outage", user="ann", model="m")
    turns = [
        Turn(role="customer", content="It's down!", rung_after=Rung.ESCALATED_ANGRY),
        trainee("Sorry, fixing it now.", Rung.ESCALATED_ANGRY, Rung.PASSIVE_ANGRY,
                "down: apologised"),
        Turn(role="customer", content="Fine.", rung_after=Rung.PASSIVE_ANGRY, model="m"),
    ]
    for turn in turns:
        store.add_turn(sid, turn)
    loaded = store.load(sid)
    assert loaded.session_id == sid and loaded.persona_id == "crm-outage"
    assert loaded.turns == turns
    assert loaded.rung == Rung.PASSIVE_ANGRY and not loaded.awaiting_reply


def test_each_turn_is_committed_when_added(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("crm-outage")
    store.add_turn(sid, trainee("Hello", Rung.CALM, Rung.CALM, "no change"))
    # Another connection (another process after a kill -9) sees it without any close().
    assert raw_sql(store_url, "SELECT content FROM turns WHERE session_id = :s",
                   s=sid) == [("Hello",)]
    reopened = SqlStore(store_url).load(sid)
    assert reopened.awaiting_reply and reopened.turns[0].reason == "no change"


def test_list_is_newest_first_filters_by_user_and_hides_sandbox(store_url: str) -> None:
    store = SqlStore(store_url)
    a = store.create_session("p1", user="ann")
    b = store.create_session("p2", user="bob")
    store.create_session("p3", user="ann", sandbox=True)
    store.add_turn(b, Turn(role="customer", content="Hi"))
    ids = [s.session_id for s in store.list_sessions()]
    assert ids == [b, a]
    assert [s.session_id for s in store.list_sessions(user="ann")] == [a]
    assert [s.session_id for s in store.list_sessions(user="bob")] == [b]
    assert {s.session_id: s.turns for s in store.list_sessions()}[b] == 1
    assert len(store.list_sessions(include_sandbox=True)) == 3
    assert store.list_sessions(user="nobody") == []


def test_a_report_comes_back_as_the_evaluation_report_it_was(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1", user="ann")
    other = store.create_session("p1", user="bob")
    assert store.info(sid).ended_at is None and store.load_report(sid) is None
    store.end_session(sid)
    report = EvaluationReport(overall_score=62.5, principles=[PrincipleResult(
        id="empathy", title="Acknowledge", status="partly", score=50.0, explanation="Some.",
        evidence=[Evidence(turn=1, quote="sorry")])], language="fi", warnings=["w"])
    store.save_report(sid, report)
    assert store.info(sid).ended_at is not None and store.info(sid).score == 62.5
    assert store.load_report(sid) == report
    # Kept with its own session only.
    assert store.load_report(other) is None and store.info(other).score is None


def test_a_stored_report_that_no_longer_validates_is_a_store_error(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1")
    # What an older version kept: a 0-1 score and a field the report no longer has.
    raw_sql(store_url, "UPDATE sessions SET report = :r WHERE session_id = :s",
            r='{"overall": 0.5, "principles": []}', s=sid)
    with pytest.raises(StoreError, match="no longer matches the report format.*overall.*"
                                         "score the call again"):
        store.load_report(sid)
    raw_sql(store_url, "UPDATE sessions SET report = :r WHERE session_id = :s",
            r="{not json", s=sid)
    with pytest.raises(StoreError, match="no longer matches"):
        store.load_report(sid)


def test_a_stored_turn_that_no_longer_validates_is_a_store_error(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1")
    store.add_turn(sid, Turn(role="customer", content="Hi"))
    raw_sql(store_url, "UPDATE turns SET rung_after = 'furious', moves = '[{}]' "
                       "WHERE session_id = :s", s=sid)
    with pytest.raises(StoreError, match=f"session {sid}: a stored turn no longer matches"):
        store.load(sid)
    assert store.info(sid).turns == 1


def test_unknown_session_is_a_store_error(store_url: str) -> None:
    store = SqlStore(store_url)
    with pytest.raises(StoreError, match="sessions list"):
        store.load("nope")
    with pytest.raises(StoreError, match="no session"):
        store.add_turn("nope", Turn(role="customer", content="x"))
    with pytest.raises(StoreError, match="no session"), store.answering("nope"):
        pass


def test_an_unwritable_sqlite_file_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="ROLEPLAY_DB"):
        SqliteStore(blocker / "s.sqlite3")


def test_an_unreachable_or_unknown_database_says_which_without_its_password() -> None:
    with pytest.raises(StoreError, match="ROLEPLAY_DATABASE_URL") as err:
        SqlStore("postgresql://ann:hunter2@127.0.0.1:9/roleplay")
    assert "hunter2" not in str(err.value) and "127.0.0.1:9" in str(err.value)
    with pytest.raises(StoreError, match="not supported"):
        SqlStore("mysql://127.0.0.1/roleplay")
    with pytest.raises(StoreError, match="not a database URL"):
        SqlStore("no url at all")


def test_the_url_setting_picks_the_database(tmp_path: Path, store_url: str) -> None:
    assert isinstance(open_store(Settings(db_path=tmp_path / "d.sqlite3")), SqliteStore)
    store = open_store(Settings(db_path=tmp_path / "unused.sqlite3", database_url=store_url))
    sid = store.create_session("p1")
    assert SqlStore(store_url).info(sid).persona_id == "p1"
    assert not (tmp_path / "unused.sqlite3").exists()


def test_take_back_removes_only_an_unanswered_trainee_line(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1")
    store.add_turn(sid, Turn(role="customer", content="Hi"))
    assert store.take_back(sid) is None and len(store.load(sid).turns) == 1
    line = trainee("Sorry", Rung.CALM, Rung.CALM, "no change")
    store.add_turn(sid, line)
    assert store.take_back(sid) == line
    assert [t.content for t in store.load(sid).turns] == ["Hi"]
    store.add_turn(sid, Turn(role="trainee", content="Again"))
    assert [t.content for t in store.load(sid).turns] == ["Hi", "Again"]


def test_writers_on_one_session_queue_instead_of_interleaving(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1")
    errors: list[Exception] = []

    def write(who: str) -> None:
        try:
            for i in range(10):
                store.add_turn(sid, Turn(role="customer", content=f"{who}{i}"))
        except Exception as err:  # noqa: BLE001 - the test reports any failure
            errors.append(err)

    threads = [threading.Thread(target=write, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    contents = [t.content for t in store.load(sid).turns]
    assert sorted(contents) == sorted(f"{w}{i}" for w in "abcd" for i in range(10))
    for who in "abcd":  # each writer's turns in the order it wrote them
        assert [c for c in contents if c[0] == who] == [f"{who}{i}" for i in range(10)]


def test_still_answering_refuses_a_second_holder_until_released(store_url: str) -> None:
    store, elsewhere = SqlStore(store_url), SqlStore(store_url)  # two pools: two processes
    sid = store.create_session("p1")
    with store.answering(sid):
        with pytest.raises(SessionBusy, match="still answering"), store.answering(sid):
            pass
        with pytest.raises(SessionBusy), elsewhere.answering(sid):
            pass
        other = store.create_session("p1")
        with elsewhere.answering(other):  # another call is not held up
            pass
    with elsewhere.answering(sid):
        pass
    with pytest.raises(RuntimeError), store.answering(sid):  # an error inside lets go too
        raise RuntimeError("boom")
    with store.answering(sid):
        pass


def test_a_mark_whose_holder_died_lapses(store_url: str) -> None:
    now = [1000.0]
    died = SqlStore(store_url, answer_lease_s=45, clock=lambda: now[0])
    later = SqlStore(store_url, answer_lease_s=45, clock=lambda: now[0])
    sid = died.create_session("p1")
    held = died.answering(sid)
    held.__enter__()  # and never left: the process was killed
    now[0] += 44
    with pytest.raises(SessionBusy), later.answering(sid):
        pass
    now[0] += 2
    with later.answering(sid):
        assert later.load(sid).turns == []


def test_a_mark_renewed_by_its_holder_holds_past_its_first_lapse(store_url: str) -> None:
    now = [1000.0]
    holder = SqlStore(store_url, answer_lease_s=45, clock=lambda: now[0])
    other = SqlStore(store_url, answer_lease_s=45, clock=lambda: now[0])
    sid = holder.create_session("p1")
    with holder.answering(sid):
        now[0] += 40
        assert holder.renew_marks() == 1 and other.renew_marks() == 0
        now[0] += 40  # 80 s after it was taken, 40 s after the renewal
        with pytest.raises(SessionBusy), other.answering(sid):
            pass
    assert holder.renew_marks() == 0  # let go: nothing left to renew
    with other.answering(sid):
        pass


def test_the_cookie_key_is_made_once_and_shared(store_url: str) -> None:
    first = SqlStore(store_url).signing_key()
    assert len(first) >= 32
    assert SqlStore(store_url).signing_key() == first
    other_url = store_url.replace("store.sqlite3", "other.sqlite3")
    if other_url != store_url:
        assert SqlStore(other_url).signing_key() != first


def test_an_earlier_versions_key_file_is_adopted(tmp_path: Path) -> None:
    old = bytes(range(32))
    (tmp_path / "s.sqlite3.key").write_bytes(old)
    assert SqliteStore(tmp_path / "s.sqlite3").signing_key() == old
    (tmp_path / "s.sqlite3.key").unlink()
    assert SqliteStore(tmp_path / "s.sqlite3").signing_key() == old  # kept in the database


def test_the_scorers_cache_is_kept_and_replaced(store_url: str) -> None:
    store = SqlStore(store_url)
    assert store.get_cached("k") is None
    store.put_cached("k", "1")
    store.put_cached("k", "2")
    assert SqlStore(store_url).get_cached("k") == "2"


def test_an_in_memory_store_serves_threads(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    sid = store.create_session("p1")
    threads = [threading.Thread(target=store.add_turn,
                                args=(sid, Turn(role="customer", content=str(i))))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(t.content for t in store.load(sid).turns) == [str(i) for i in range(8)]


def test_missing_postgresql_binaries_fail_the_tests_with_the_install_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI must never pass with the PostgreSQL half of the store untested.
    import postgres_server

    monkeypatch.setattr(postgres_server, "_binaries", lambda: None)
    with pytest.raises(pytest.fail.Exception, match=r"scripts/setup --test"):
        postgres_server.start_postgres(tmp_path)
