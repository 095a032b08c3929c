"""The web app's plain-Python parts: users file, publishing, HTML rendering, and the page
actions of WebApp against the fake engine (no server, no browser)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fake_engine import FakeEngine, fake_evaluate

from roleplay.config import Settings
from roleplay.errors import ConfigError, PersonaError
from roleplay.personas import parse_persona
from roleplay.report import Advice, EvaluationReport, Evidence, PrincipleResult, render_markdown
from roleplay.store import SqliteStore
from roleplay.transcript import Transcript, Turn
from roleplay.users import User, Users, hash_password, load_users
from roleplay.web import render
from roleplay.web.actions import Identity, NotAllowed, WebApp
from roleplay.web.publish import publish_persona

DATA = Path(__file__).parent / "data" / "personas"
MINIMAL = (DATA / "valid" / "minimal.yaml").read_text(encoding="utf-8")
# The browsers are what calls are bound to with login off (web.cookies); ignored with login on.
ANN = Identity("ann", "trainee", "ann-browser")
BOB = Identity("bob", "trainee", "bob-browser")
TESS = Identity("tess", "trainer")
HASHED = hash_password("a-password")


# --- users ---------------------------------------------------------------------------------

def test_users_file_gives_roles_and_checks_passwords(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(f"users:\n  - {{name: ann, password: '{hash_password('pw1')}', role: trainee}}\n"
                    f"  - {{name: tess, password: '{hash_password('pw2')}', role: trainer}}\n",
                    encoding="utf-8")
    users = load_users(path)
    assert users.authenticate("ann", "pw1") and users.authenticate("tess", "pw2")
    assert not users.authenticate("ann", "pw2") and not users.authenticate("nobody", "")
    assert users.role("ann") == "trainee" and users.role("tess") == "trainer"
    assert users.role("nobody") is None and users.role(None) is None


@pytest.mark.parametrize("text, expected", [
    ("users:\n  - {name: ann, password: HASH, role: admin}\n", "users[0].role"),
    ("users:\n  - {name: ann, password: HASH, rol: trainer}\n", "users[0].rol"),
    ("users: []\n", "users"),
    ("users:\n  - {name: ann, password: HASH}\n  - {name: ann, password: HASH}\n", "listed twice"),
    ("users: [\n", "not valid YAML"),
])
def test_broken_users_file_names_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(text.replace("HASH", HASHED), encoding="utf-8")
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.").replace("[", r"\[")):
        load_users(path)


def test_missing_users_file_says_how_to_turn_login_off(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unset ROLEPLAY_USERS"):
        load_users(tmp_path / "nope.yaml")


# --- publishing ----------------------------------------------------------------------------

def test_publish_writes_a_valid_persona_that_loads(tmp_path: Path) -> None:
    done = publish_persona(MINIMAL, tmp_path)
    assert done.path == tmp_path / "late-parcel.yaml" and not done.replaced
    assert parse_persona(done.path.read_text(encoding="utf-8"), "x").id == "late-parcel"


def test_publish_refuses_an_invalid_persona_and_writes_nothing(tmp_path: Path) -> None:
    broken = MINIMAL.replace("start_rung: passive-angry", "start_rung: furious")
    with pytest.raises(PersonaError) as err:
        publish_persona(broken, tmp_path)
    [problem] = err.value.problems
    assert problem.field == "start_rung" and problem.line == 12
    assert "passive-angry" in problem.fix
    assert list(tmp_path.iterdir()) == []


def test_publish_refuses_an_existing_id_unless_replacing(tmp_path: Path) -> None:
    publish_persona(MINIMAL, tmp_path)
    changed = MINIMAL.replace("The parcel is late", "The parcel is very late")
    with pytest.raises(PersonaError) as err:
        publish_persona(changed, tmp_path)
    assert err.value.problems[0].field == "id" and "Replace" in err.value.problems[0].fix
    assert "very late" not in (tmp_path / "late-parcel.yaml").read_text(encoding="utf-8")
    done = publish_persona(changed, tmp_path, replace=True)
    assert done.replaced and "very late" in done.path.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late-parcel.yaml"]


def test_publish_finds_an_id_in_a_file_named_otherwise(tmp_path: Path) -> None:
    (tmp_path / "parcel.yaml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(PersonaError, match="parcel.yaml"):
        publish_persona(MINIMAL, tmp_path)
    assert publish_persona(MINIMAL, tmp_path, replace=True).path == tmp_path / "parcel.yaml"


# --- rendering -----------------------------------------------------------------------------

def test_chat_text_shows_markup_as_text() -> None:
    assert render.chat_text("<script>alert(1)</script>\nok") == \
        "&lt;script&gt;alert(1)&lt;/script&gt;<br>ok"


def _transcript() -> Transcript:
    return Transcript(session_id="s1", persona_id="late-parcel", turns=[
        Turn(role="customer", content="Where is it?"),
        Turn(role="trainee", content="<b>calm down</b>"),
    ])


def test_report_links_quotes_to_existing_turn_anchors_and_escapes_them() -> None:
    report = EvaluationReport(overall_score=42.4, principles=[PrincipleResult(
        id="p", title="No <i>dismissing</i>", status="violated", score=0, explanation="x",
        evidence=[Evidence(turn=1, quote="<b>calm down</b>")])],
        advice=[Advice(turn=1, original="<b>calm down</b>", rewrite="I hear you.",
                       principle="p", why="w")])
    html = render.report_html(report, _transcript(), prefix="h")
    assert 'href="#h-turn-1"' in html and 'id="h-turn-1"' in html
    assert "<b>calm down</b>" not in html and "&lt;b&gt;calm down&lt;/b&gt;" in html
    assert "<i>" not in html
    assert "42 / 100" in html and 'data-score="42.4"' in html


def test_report_without_a_score_says_not_scored_never_zero() -> None:
    html = render.report_html(EvaluationReport(overall_score=None), _transcript())
    assert "Not scored" in html and "0 / 100" not in html


def test_evidence_pointing_outside_the_transcript_gets_no_link() -> None:
    report = EvaluationReport(overall_score=50, principles=[PrincipleResult(
        id="p", title="t", status="met", explanation="", evidence=[Evidence(turn=9, quote="q")])])
    assert "#r-turn-9" not in render.report_html(report, _transcript())


def test_mood_meter_escapes_the_reason() -> None:
    html = render.mood_meter(render.Rung.CURSING, 'up: used jargon ("<img src=x>")', "Dana")
    assert 'data-rung="cursing"' in html and "<img" not in html


# --- page actions --------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "db.sqlite3")


@pytest.fixture
def personas_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "personas"
    directory.mkdir()
    (directory / "late-parcel.yaml").write_text(MINIMAL, encoding="utf-8")
    return directory


def make_app(store: SqliteStore, personas_dir: Path, tmp_path: Path,
             users: Users | None = None) -> tuple[WebApp, FakeEngine]:
    engine = FakeEngine(store)
    app = WebApp(engine, store, personas_dir, Settings(personas_dir=personas_dir),
                 fake_evaluate, render_markdown, users=users, files_dir=tmp_path / "files")
    return app, engine


def test_a_call_streams_moves_the_mood_and_ends_in_a_saved_report(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, _ = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)
    first = app.call_view(session)
    assert 'data-rung="passive-angry"' in first.mood and len(first.messages) == 1

    views = list(app.say(session, "I'm so sorry, Maria. I understand how frustrating this is.",
                         ANN))
    assert all(v.busy for v in views[:-1]) and not views[-1].busy
    partial = [v.messages[-1]["content"] for v in views if v.busy]
    assert "Fine." in partial and views[-1].messages[-1]["content"] == "Fine. What happens now?"
    assert 'data-rung="calm"' in views[-1].mood and "down:" in views[-1].mood

    report = app.end(session, ANN)
    info = store.info(session.session_id)
    assert info.ended_at is not None and info.score == 50.0
    saved = store.load_report(session.session_id)
    assert saved is not None and saved.overall_score == 50.0
    assert "50 / 100" in report.html and report.plot is not None
    assert report.markdown_file and report.markdown_file.read_text().startswith("# Call evaluation")
    assert report.json_file and json.loads(report.json_file.read_text())["overall_score"] == 50
    # An ended call takes no more lines.
    [refused] = list(app.say(session, "one more thing", ANN))
    assert refused.error and "ended" in refused.error and refused.keep_text == "one more thing"


def test_a_backend_error_keeps_the_line_and_retry_answers_it(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, engine = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)
    engine.fail_next = 1
    last = list(app.say(session, "Let me check that for you.", ANN))[-1]
    assert last.error and "could not answer" in last.error and last.retry and not last.busy
    assert last.messages[-1] == {"role": "user", "content": "Let me check that for you."}
    assert store.load(session.session_id).awaiting_reply
    # A new line before the retry would leave the first unanswered: it is refused and kept.
    [refused] = list(app.say(session, "Hello?", ANN))
    assert refused.keep_text == "Hello?" and refused.retry
    # After a reload the stored call still shows the retry.
    _, resumed = app.resume(session.session_id, ANN)
    assert app.call_view(resumed).retry
    done = list(app.retry(resumed, ANN))[-1]
    assert done.error is None and not done.retry
    assert [t.role for t in store.load(session.session_id).turns] == \
        ["customer", "trainee", "customer"]


def test_a_restart_discards_what_was_streamed(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, engine = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)
    engine.restart_once = True
    shown = [v.messages[-1]["content"] for v in app.say(session, "Hello Maria.", ANN)]
    assert "I am an AI" in shown and shown[-1] == "Fine. What happens now?"
    assert shown[shown.index("I am an AI") + 1] == "…"


def test_two_replies_at_once_are_refused(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, _ = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)
    streaming = app.say(session, "Hello Maria.", ANN)
    next(streaming)  # the first reply is under way
    [second] = list(app.say(session, "Are you there?", ANN))
    assert second.error and "still answering" in second.error
    with pytest.raises(NotAllowed, match="still answering"):
        app.end(session, ANN)
    list(streaming)
    assert [t.content for t in store.load(session.session_id).turns if t.role == "trainee"] \
        == ["Hello Maria."]


def test_ending_without_a_trainee_line_scores_nothing(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, _ = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)
    view = app.end(session, ANN)
    assert "nothing to score" in view.html and view.json_file is None
    assert store.info(session.session_id).score is None


def test_history_is_per_user_and_never_shows_sandbox_calls(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    users = Users([User(name="ann", password=HASHED), User(name="bob", password=HASHED),
                   User(name="tess", password=HASHED, role="trainer")])
    app, _ = make_app(store, personas_dir, tmp_path, users)
    ann_call = app.start("late-parcel", ANN)
    list(app.say(ann_call, "Sorry, Maria.", ANN))
    app.end(ann_call, ANN)
    app.start("late-parcel", BOB)
    app.sandbox(MINIMAL, TESS)
    assert [s.session_id for s in app.history(ANN)] == [ann_call.session_id]
    assert app.history_rows(app.history(ANN))[0][1:] == ["The parcel is late", "50", "3",
                                                         "scored"]
    assert app.history(TESS) == []
    with pytest.raises(NotAllowed, match="someone else"):
        app.resume(ann_call.session_id, BOB)
    with pytest.raises(NotAllowed, match="someone else"):
        app.stored_report(ann_call.session_id, BOB, "h")
    view = app.stored_report(ann_call.session_id, ANN, "h")
    assert view is not None and 'id="h-turn-1"' in view.html


def test_sandbox_calls_are_stored_as_sandbox_and_cannot_be_reopened(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    users = Users([User(name="tess", password=HASHED, role="trainer")])
    app, _ = make_app(store, personas_dir, tmp_path, users)
    session = app.sandbox(MINIMAL.replace("late-parcel", "draft-parcel"), TESS)
    assert store.info(session.session_id).sandbox
    with pytest.raises(NotAllowed, match="sandbox"):
        app.resume(session.session_id, TESS)


def test_trainer_actions_check_the_role_on_the_server(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    users = Users([User(name="ann", password=HASHED),
                   User(name="tess", password=HASHED, role="trainer")])
    app, _ = make_app(store, personas_dir, tmp_path, users)
    new = MINIMAL.replace("late-parcel", "new-parcel")
    me = app.identity("ann", None)
    for action in (lambda: app.check_persona(new, me), lambda: app.sandbox(new, me),
                   lambda: app.publish(new, True, me)):
        with pytest.raises(NotAllowed, match="only trainers"):
            action()
    assert not (personas_dir / "new-parcel.yaml").exists()
    assert "Published 'new-parcel'" in app.publish(new, False, app.identity("tess", None))
    # A user removed from the file after logging in has no rights left.
    with pytest.raises(NotAllowed):
        app.identity("mallory", None)


def test_with_login_off_the_typed_name_is_the_identity_and_nobody_is_a_trainer(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, _ = make_app(store, personas_dir, tmp_path)
    assert app.identity(None, "  Ann ") == Identity("Ann", "trainee")
    with pytest.raises(NotAllowed, match="type your name"):
        app.start("late-parcel", app.identity(None, ""))
    with pytest.raises(NotAllowed, match="only trainers"):
        app.publish(MINIMAL, True, app.identity(None, "Ann"))


def test_an_ended_call_without_a_report_can_be_scored_later_only_by_its_owner(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, _ = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)
    list(app.say(session, "Sorry, Maria.", ANN))
    with pytest.raises(NotAllowed, match="not finished"):
        app.score_stored(session.session_id, ANN, "h")
    store.end_session(session.session_id)  # e.g. the scoring failed when the call ended
    with pytest.raises(NotAllowed, match="someone else"):
        app.score_stored(session.session_id, BOB, "h")
    view = app.score_stored(session.session_id, ANN, "h")
    assert "50 / 100" in view.html and store.info(session.session_id).score == 50.0


def test_a_saved_report_that_no_longer_loads_is_shown_as_such_and_can_be_scored_again(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    app, _ = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)
    list(app.say(session, "Sorry, Maria.", ANN))
    app.end(session, ANN)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:  # a report kept by an older version
        db.execute("UPDATE sessions SET report = ? WHERE session_id = ?",
                   ('{"overall_score": 0.5, "grade": "B"}', session.session_id))
    view = app.stored_report(session.session_id, ANN, "h")
    assert view is not None and view.rescore and view.json_file is None
    assert "no longer matches the report format" in view.html and "rp-error" in view.html
    again = app.score_stored(session.session_id, ANN, "h")
    assert "50 / 100" in again.html and not again.rescore


def test_a_broken_persona_file_is_reported_by_name_and_the_others_stay(
        store: SqliteStore, personas_dir: Path, tmp_path: Path) -> None:
    (personas_dir / "broken.yaml").write_bytes(b"id: broken\x00\ntitle: x\n")
    app, _ = make_app(store, personas_dir, tmp_path)
    personas, problems = app.catalogue()
    assert list(personas) == ["late-parcel"]
    assert {p.file for p in problems} == {"broken.yaml"}
    html = render.broken_files_html(problems)
    assert "broken.yaml" in html and str(personas_dir) not in html
    assert "Traceback" not in html and "Error" not in html
    assert app.start("late-parcel", ANN).transcript.turns


def test_a_bug_in_the_reply_path_shows_an_error_and_frees_the_call(
        store: SqliteStore, personas_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # An exception that is not a RoleplayError used to end the Gradio handler with a toast,
    # leaving "…" in the chat and Send disabled: the call looked frozen for good.
    app, engine = make_app(store, personas_dir, tmp_path)
    session = app.start("late-parcel", ANN)

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(engine.appraiser, "appraise", broken)
    last = list(app.say(session, "Let me check that for you.", ANN))[-1]
    assert last.error and "error on our side (ZeroDivisionError)" in last.error
    assert not last.busy and last.keep_text == "Let me check that for you."
    monkeypatch.undo()
    done = list(app.say(session, "Let me check that for you.", ANN))[-1]
    assert done.error is None and not done.busy
