"""The engine CONTRACT the web app is written against (roleplay.conversation's docstring), run
on the web tests' FakeEngine and on ConversationEngine over LangChain's FakeStreamingListLLM
(the completion path of the real CustomerModel, the one the embedded server uses).

Both must give the same events, store the same turns and fail the same way, or the web tests
would pass against an engine the app never meets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fake_engine import FakeEngine
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake import FakeStreamingListLLM
from langchain_core.runnables import RunnableConfig

from roleplay.backends import CustomerModel, ServerFeatures
from roleplay.config import Settings
from roleplay.conversation import ConversationEngine, MoodUpdate, Reply, ReplyEvent, Token
from roleplay.errors import BackendError, RoleplayError
from roleplay.personas import Persona, load_persona
from roleplay.store import SqliteStore

PERSONA = Path(__file__).parent / "data" / "personas" / "valid" / "minimal.yaml"
CALMING = "I'm so sorry, Maria. I understand how frustrating this is."
CHECKING = "Let me check that for you, Maria."
FIRST, SECOND = "Fine. What happens now?", "Right. And when exactly?"


@dataclass
class Subject:
    """An engine under test and how to make its next reply fail on the backend."""

    engine: ConversationEngine
    fail_next: Callable[[], None]


def fake_subject(store: SqliteStore) -> Subject:
    engine = FakeEngine(store, replies=[FIRST, SECOND])

    def fail() -> None:
        engine.fail_next = 1
    return Subject(engine, fail)


class OnceFailingLLM(FakeStreamingListLLM):
    """LangChain's FakeStreamingListLLM whose `error_on_chunk_number` holds for one reply."""

    def stream(self, input: LanguageModelInput, config: RunnableConfig | None = None, *,
               stop: list[str] | None = None, **kwargs: Any) -> Iterator[str]:
        try:
            yield from super().stream(input, config, stop=stop, **kwargs)
        finally:
            self.error_on_chunk_number = None


def langchain_subject(store: SqliteStore) -> Subject:
    # Every request takes the next response: the warm-up of the prompt when the call starts
    # (a completion server caches it) and the reply that fails, hence the placeholders.
    llm = OnceFailingLLM(responses=["(warm-up)", FIRST, "(never shown)", SECOND])
    features = ServerFeatures.of(["completions"], "a completion server without llama.cpp extras")
    model = CustomerModel(Settings(base_url="http://127.0.0.1:9/v1", model="fake"),
                          features=features, completion_model=llm)

    def fail() -> None:
        llm.error_on_chunk_number = 0  # LangChain's own way to make a stream fail
    return Subject(ConversationEngine(model, store, Settings().prompts_dir), fail)


SUBJECTS = {"fake_engine": fake_subject, "conversation_engine": langchain_subject}


@dataclass
class Record:
    """What a run of the contract showed, in a form both engines can be compared by."""

    steps: list[tuple[str, list[str], str]] = field(default_factory=list)
    """(step, event kinds with a run of Tokens as one "Token*", how it ended)."""
    turns: list[tuple[str, str, str | None, str | None, str | None]] = field(default_factory=list)


def events_of(run: Callable[[], Iterable[ReplyEvent]]) -> tuple[list[ReplyEvent], str]:
    """Collect the events of one engine call and how it ended (ok or the error class)."""
    seen: list[ReplyEvent] = []
    try:
        # One by one: the events before a failure are part of what the caller saw.
        for event in run():
            seen.append(event)  # noqa: PERF402
    except RoleplayError as err:
        return seen, type(err).__name__
    return seen, "ok"


def kinds(events: list[ReplyEvent]) -> list[str]:
    out: list[str] = []
    for event in events:
        kind = "Token*" if isinstance(event, Token) else type(event).__name__
        if not (out and out[-1] == kind == "Token*"):
            out.append(kind)
    return out


def check_reply(events: list[ReplyEvent]) -> None:
    """The streamed tokens add up to the saved reply."""
    reply = events[-1]
    assert isinstance(reply, Reply)
    assert "".join(e.text for e in events if isinstance(e, Token)) == reply.turn.content


def run_contract(subject: Subject, persona: Persona, store: SqliteStore) -> Record:
    engine, record = subject.engine, Record()
    session = engine.start(persona, user="ann")
    assert store.load(session.session_id).turns == session.transcript.turns

    events, end = events_of(lambda: engine.stream(session, CALMING))
    record.steps.append(("say", kinds(events), end))
    check_reply(events)
    update = events[0]
    assert isinstance(update, MoodUpdate) and update.turn == session.transcript.turns[1]

    subject.fail_next()
    events, end = events_of(lambda: engine.stream(session, CHECKING))
    record.steps.append(("say, backend fails", kinds(events), end))
    # The trainee turn is kept and the caller can offer Retry.
    assert session.transcript.awaiting_reply and store.load(session.session_id).awaiting_reply

    events, end = events_of(lambda: engine.retry(session))
    record.steps.append(("retry", kinds(events), end))
    check_reply(events)
    for step, run in (("retry, nothing to retry", lambda: engine.retry(session)),
                      ("say an empty line", lambda: engine.stream(session, "   "))):
        events, end = events_of(run)
        record.steps.append((step, kinds(events), end))

    resumed = engine.resume(session.session_id, {persona.id: persona})
    assert resumed.transcript.turns == session.transcript.turns == \
        store.load(session.session_id).turns
    with pytest.raises(RoleplayError):
        engine.resume(session.session_id, {})
    record.turns = [(t.role, t.content, t.rung_before and t.rung_before.value,
                     t.rung_after and t.rung_after.value, t.reason)
                    for t in store.load(session.session_id).turns]
    return record


@pytest.fixture
def persona() -> Persona:
    return load_persona(PERSONA)


@pytest.mark.parametrize("name", SUBJECTS)
def test_the_engine_keeps_the_contract(name: str, persona: Persona, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    record = run_contract(SUBJECTS[name](store), persona, store)
    assert record.steps == [
        ("say", ["MoodUpdate", "Token*", "Reply"], "ok"),
        ("say, backend fails", ["MoodUpdate"], BackendError.__name__),
        ("retry", ["Token*", "Reply"], "ok"),
        ("retry, nothing to retry", [], RoleplayError.__name__),
        ("say an empty line", [], RoleplayError.__name__),
    ]
    assert [(role, content) for role, content, *_ in record.turns] == [
        ("customer", persona.opening.strip()), ("trainee", CALMING), ("customer", FIRST),
        ("trainee", CHECKING), ("customer", SECOND)]


def test_the_fake_engine_and_the_real_one_store_the_same_turns(
        persona: Persona, tmp_path: Path) -> None:
    records = []
    for name, make in SUBJECTS.items():
        store = SqliteStore(tmp_path / f"{name}.sqlite3")
        records.append(run_contract(make(store), persona, store))
    fake, real = records
    assert fake == real
    # The mood moved, with its reason, the same way in both: the calming line lowered it.
    assert fake.turns[1][2:4] == ("passive-angry", "calm") and fake.turns[1][4]
