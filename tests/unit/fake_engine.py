"""The web tests' engine and evaluator: the real ones on LangChain's fake chat model.

`FakeEngine` is `roleplay.conversation.ConversationEngine` itself (the same bookkeeping,
mood rules and character checks), on a `CustomerModel` given LangChain's
`GenericFakeChatModel` with scripted lines as its `chat_model`, so the page tests run in
milliseconds and what they see is what the real engine does with those lines. Tests steer
it through `fail_next` (the backend times out) and `restart_once` (a reply breaks
character first). `fake_evaluate` returns a real `EvaluationReport`, so a schema change
fails these tests; `FakeScorer` serves it through roleplay.scoring's interface, its advice
held back until the test lets it go.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import httpx
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from roleplay.backends import CustomerModel
from roleplay.config import Settings
from roleplay.conversation import ConversationEngine
from roleplay.errors import RoleplayError
from roleplay.personas import Persona
from roleplay.report import Advice, EvaluationReport, Evidence, PrincipleResult
from roleplay.store import TranscriptStore
from roleplay.transcript import Transcript

REPLIES = ("Fine. What happens now?", "Right. And when exactly?", "Okay. I am listening.")
BROKEN = "I am an AI language model and cannot help."
"""A reply the engine's character check refuses, so it regenerates (a Restart)."""


class _Lines(Iterator[AIMessage]):
    """The fake chat model's replies: the first scripted line not yet in the prompt."""

    def __init__(self, engine: FakeEngine):
        self.engine = engine
        self.prompt = ""

    def __next__(self) -> AIMessage:
        engine = self.engine
        if engine.fail_next:
            engine.fail_next -= 1
            # What the HTTP client raises when the server does not answer in time.
            raise httpx.ReadTimeout("timed out")
        if engine.restart_once:
            engine.restart_once = False
            return AIMessage(BROKEN)
        # The real engine refuses a line the customer already said; so does a real call.
        fresh = [line for line in engine.replies if line not in self.prompt]
        return AIMessage((fresh or engine.replies)[0])


class _FakeCustomer(CustomerModel):
    """The real CustomerModel (chat style) with LangChain's fake chat model behind it."""

    def __init__(self, lines: _Lines):
        super().__init__(Settings(base_url="http://127.0.0.1:9/v1", model="fake",
                                  prompt_style="chat"),
                         chat_model=GenericFakeChatModel(messages=lines))
        self.lines = lines

    def stream(self, prompt: str, stop: list[str], max_tokens: int = 96,
               temperature: float = 0.8, avoid: Sequence[str] = ()) -> Iterator[str]:
        # Only so the script sees the prompt, i.e. what the customer has already said.
        self.lines.prompt = prompt
        yield from super().stream(prompt, stop, max_tokens, temperature, avoid)


class FakeEngine(ConversationEngine):
    """ConversationEngine on scripted customer lines; the turns go to `store`."""

    def __init__(self, store: TranscriptStore, replies: Sequence[str] = REPLIES):
        self.replies = list(replies)
        self.fail_next = 0
        """How many of the next replies fail with BackendError after the trainee turn is saved."""
        self.restart_once = False
        """Make the next reply break character first: a Restart, then a scripted line."""
        super().__init__(_FakeCustomer(_Lines(self)), store, Settings().prompts_dir)


def fake_evaluate(transcript: Transcript, persona: Persona) -> EvaluationReport:
    """Score by counting trainee turns: enough to tell reports apart in tests."""
    trainee = [i for i, t in enumerate(transcript.turns) if t.role == "trainee"]
    first = trainee[0] if trainee else 0
    said = transcript.turns[first].content
    return EvaluationReport(
        overall_score=min(100.0, 40.0 + 10 * len(trainee)),
        principles=[PrincipleResult(
            id="empathy", title="Acknowledge the feelings", status="partly", score=50.0,
            explanation="Some acknowledgement.", evidence=[Evidence(turn=first, quote=said)])],
        advice=[Advice(turn=first, original=said, rewrite="I understand how frustrating this is.",
                       principle="empathy", why="Name the feeling first.")],
        mood_path=[r.value for r in transcript.mood_path()],
        judge_model="fake",
    )


def sample_report(transcript: Transcript) -> EvaluationReport:
    """A report of every kind of line the page shows, quoting `transcript`'s trainee turns:
    met with a quote, violated and partly (with rewrites), did not come up, unscored."""
    trainee = [i for i, t in enumerate(transcript.turns) if t.role == "trainee"] or [0]

    def quote(k: int) -> list[Evidence]:
        turn = trainee[min(k, len(trainee) - 1)]
        return [Evidence(turn=turn, quote=transcript.turns[turn].content)]

    def result(pid: str, title: str, status: str, evidence: list[Evidence],
               why: str) -> PrincipleResult:
        score = {"met": 100.0, "partly": 50.0, "violated": 0.0}.get(status)
        return PrincipleResult(id=pid, title=title, status=status,  # type: ignore[arg-type]
                               score=score, evidence=evidence, explanation=why)

    principles = [
        result("acknowledge_feelings", "Acknowledge the feelings", "met", quote(0),
               "You named how the customer felt before fixing anything."),
        result("no_blame", "Do not blame the customer", "violated", quote(2),
               "This tells the customer the problem is their fault."),
        result("time_expectations", "Say when", "partly", quote(4),
               "A next step, but no time the customer can hold you to."),
        result("cursing_boundary", "Set a boundary on cursing", "not_applicable", [],
               "The customer did not curse."),
        result("no_needless_transfer", "No needless transfer", "not_applicable", [],
               "No transfer came up."),
        result("plain_language", "Plain language", "met", [], "No sign of a problem."),
        result("follow_up", "Follow up", "unscored", [],
               "The judge model did not answer in time, so this is left out of the score."),
    ]
    scored = [p.score for p in principles if p.score is not None]
    blame, when = quote(2)[0], quote(4)[0]
    return EvaluationReport(
        overall_score=sum(scored) / len(scored), principles=principles,
        advice=[Advice(turn=blame.turn, original=blame.quote, principle="no_blame",
                       rewrite="That must be maddening. Let's get it sorted today.",
                       why="Fix the problem, not the customer."),
                Advice(turn=when.turn, original=when.quote, principle="time_expectations",
                       rewrite="I'll call you back by 4 pm today with the new date.",
                       why="A time the customer can hold you to.")],
        mood_path=[r.value for r in transcript.mood_path()], judge_model="fake",
    )


class FakeScorer:
    """roleplay.scoring.Scorer's interface on `sample_report`: scores at once, advice held.

    `scores` returns the call's report without its advice (advice_status pending); `advice`
    waits for `release` (set by the test once it has seen the scores on the page), then
    yields the report with one more rewrite at a time. `prepared` lists the sessions
    `prepare` was told of.
    """

    def __init__(self, store: TranscriptStore):
        self.store = store
        self.release = threading.Event()
        self.prepared: list[str] = []
        self.fail: RoleplayError | None = None
        """Raised by `advice` instead of yielding, once released."""

    def prepare(self, session_id: str) -> None:
        self.prepared.append(session_id)

    def scores(self, session_id: str) -> EvaluationReport:
        return sample_report(self.store.load(session_id)).model_copy(
            update={"advice": [], "advice_status": "pending"})

    def advice(self, session_id: str, report: EvaluationReport) -> Iterator[EvaluationReport]:
        # A guard, not a timing: a test that never releases fails here instead of hanging.
        if not self.release.wait(timeout=120):
            raise AssertionError("the test never released the advice")
        if self.fail is not None:
            raise self.fail
        advice = sample_report(self.store.load(session_id)).advice
        for done in range(1, len(advice) + 1):
            status = "ready" if done == len(advice) else "pending"
            yield report.model_copy(update={"advice": advice[:done], "advice_status": status})
