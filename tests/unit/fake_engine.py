"""The web tests' engine and evaluator: the real ones on LangChain's fake chat model.

`FakeEngine` is `roleplay.conversation.ConversationEngine` itself (the same bookkeeping,
mood rules and character checks), on a `CustomerModel` given LangChain's
`GenericFakeChatModel` with scripted lines as its `chat_model`, so the page tests run in
milliseconds and what they see is what the real engine does with those lines. Tests steer
it through `fail_next` (the backend times out) and `restart_once` (a reply breaks
character first). `fake_evaluate` returns a real `EvaluationReport`, so a schema change
fails these tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from roleplay.backends import CustomerModel
from roleplay.config import Settings
from roleplay.conversation import ConversationEngine
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
