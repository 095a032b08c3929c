"""A conversation engine that keeps the CONTRACT of roleplay.conversation without a model.

The web app is written against the contract; these fakes let its unit tests run in
milliseconds. Mood moves with the real rules (roleplay.mood.appraise), so what the page shows
about the mood is what the real engine would show for the same trainee line. The customer's
reply is scripted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from roleplay.conversation import MoodUpdate, Reply, ReplyEvent, Restart, Session, Token
from roleplay.errors import BackendError, PersonaError, Problem
from roleplay.mood import appraise
from roleplay.personas import Persona
from roleplay.store import TranscriptStore
from roleplay.transcript import Transcript, Turn


class FakeEngine:
    """Saves turns in the given store like the real engine; replies with a fixed line."""

    def __init__(self, store: TranscriptStore, reply: str = "Fine. What happens now?"):
        self.store = store
        self.reply_text = reply
        self.fail_next = 0
        """How many of the next replies fail with BackendError after the trainee turn is saved."""
        self.restart_once = False
        """Make the next reply stream a broken start, then a Restart, then the real reply."""

    def start(self, persona: Persona, user: str | None = None, sandbox: bool = False) -> Session:
        session_id = self.store.create_session(persona.id, user=user, model="fake",
                                               sandbox=sandbox)
        opening = Turn(role="customer", content=persona.opening, rung_after=persona.start_rung,
                       model="fake")
        self.store.add_turn(session_id, opening)
        transcript = Transcript(session_id=session_id, persona_id=persona.id, turns=[opening])
        return Session(persona=persona, transcript=transcript, sandbox=sandbox, user=user)

    def resume(self, session_id: str, personas: dict[str, Persona]) -> Session:
        info = self.store.info(session_id)
        if info.persona_id not in personas:
            raise PersonaError([Problem("personas", None, "id",
                                        f"no persona '{info.persona_id}'", "restore its file")])
        return Session(persona=personas[info.persona_id], transcript=self.store.load(session_id),
                       sandbox=info.sandbox, user=info.user)

    def stream(self, session: Session, text: str) -> Iterator[ReplyEvent]:
        persona = session.persona
        current = session.transcript.rung or persona.start_rung
        change = appraise(text, current, persona.lowers, persona.raises,
                          language=persona.language, customer_name=persona.customer.name)
        turn = Turn(role="trainee", content=text, rung_before=change.before,
                    rung_after=change.after, reason=change.reason)
        self.store.add_turn(session.session_id, turn)
        session.transcript.turns.append(turn)
        yield MoodUpdate(change=change, turn=turn)
        yield from self.retry(session)

    def retry(self, session: Session) -> Iterator[ReplyEvent]:
        if self.fail_next:
            self.fail_next -= 1
            raise BackendError("the embedded model server did not answer within 120 s; try again")
        if self.restart_once:
            self.restart_once = False
            yield Token("I am an AI")
            yield Restart("broke character")
        words = self.reply_text.split(" ")
        for i, word in enumerate(words):
            yield Token(word if i == 0 else " " + word)
        turn = Turn(role="customer", content=self.reply_text,
                    rung_after=session.transcript.rung, model="fake")
        self.store.add_turn(session.session_id, turn)
        session.transcript.turns.append(turn)
        yield Reply(turn=turn)


class FakeReport(BaseModel):
    """The fields of roleplay.evaluator's EvaluationReport that the web app shows."""

    overall_score: float | None
    principles: list[dict[str, Any]]
    advice: list[dict[str, Any]]
    mood_path: list[str] | None = None
    language: str = "en"
    judge_model: str = "fake"
    warnings: list[str] = []


def fake_evaluate(transcript: Transcript, persona: Persona) -> FakeReport:
    """Score by counting trainee turns: enough to tell reports apart in tests."""
    trainee = [i for i, t in enumerate(transcript.turns) if t.role == "trainee"]
    first = trainee[0] if trainee else 0
    return FakeReport(
        overall_score=min(100.0, 40.0 + 10 * len(trainee)),
        principles=[{
            "id": "empathy", "title": "Acknowledge the feelings", "status": "partly",
            "score": 0.5, "explanation": "Some acknowledgement.",
            "evidence": [{"turn": first, "quote": transcript.turns[first].content}],
            "raw_output": None,
        }],
        advice=[{"turn": first, "original": transcript.turns[first].content,
                 "rewrite": "I understand how frustrating this is.", "principle": "empathy",
                 "why": "Name the feeling first."}],
        mood_path=[r.value for r in transcript.mood_path()],
    )


def fake_markdown(report: dict[str, Any]) -> str:
    return f"# Report\n\nOverall score: {report.get('overall_score')}\n"
