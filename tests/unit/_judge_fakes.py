"""Fakes for the evaluator's judge model: a chat model whose answer is a function of the prompt.

`GenericFakeChatModel` replays a fixed list; the evaluator asks a varying number of questions,
so these fakes decide from the prompt instead, and record every call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

from roleplay.judge import Judge

REPO = Path(__file__).resolve().parents[2]


class ScriptedChatModel(BaseChatModel):
    """Answers each call with `respond(prompt_text, kwargs)`; keeps `calls` for assertions."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    respond: Any
    calls: list[dict[str, Any]] = Field(default_factory=list)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        self.calls.append({"prompt": prompt, "kwargs": kwargs})
        message = self.respond(prompt, kwargs)
        if isinstance(message, str):
            message = AIMessage(content=message)
        return ChatResult(generations=[ChatGeneration(message=message)])

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"


def logprob_answer(p_yes: float) -> AIMessage:
    """An answer like the llama.cpp server's: one token with Yes/No top log-probabilities."""
    p_yes = min(max(p_yes, 1e-6), 1 - 1e-6)
    token = "Yes" if p_yes >= 0.5 else "No"
    tops = [{"token": "Yes", "logprob": math.log(p_yes), "bytes": None},
            {"token": "No", "logprob": math.log(1 - p_yes), "bytes": None}]
    return AIMessage(content=token, response_metadata={"logprobs": {"content": [
        {"token": token, "logprob": max(t["logprob"] for t in tops), "top_logprobs": tops}]}})


def agent_text(prompt: str) -> str:
    """The agent's reply as the check or rewrite prompt quotes it."""
    return prompt.split("Agent replied:")[-1].split("Agent said:")[-1]


def make_judge(check: Callable[[str], AIMessage | str] | None = None,
               rewrite: Callable[[str], str] | None = None,
               thresholds: dict[str, float] | None = None) -> tuple[Judge, ScriptedChatModel]:
    """A Judge on a scripted model: `check` answers yes/no prompts, `rewrite` rewrite prompts."""

    def respond(prompt: str, kwargs: dict[str, Any]) -> AIMessage | str:
        if kwargs.get("logprobs"):
            return check(prompt) if check else logprob_answer(0.5)
        if rewrite:
            return rewrite(prompt)
        return json.dumps({"rewrite": "I understand how frustrating this is. I'll fix it now."})

    model = ScriptedChatModel(respond=respond, calls=[])
    return Judge(model, "fake-judge", thresholds=thresholds, prompts_dir=REPO / "prompts"), model
