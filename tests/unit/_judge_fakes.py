"""Fakes for the evaluator's judge model: the real chat model on a fake OpenAI-compatible wire.

The judge needs log-probabilities and structured output, which LangChain's fake chat models do
not give, so the Judge runs on a real `ChatOpenAI` whose `http_client` has an
`httpx.MockTransport`: the fake server answers each request from its prompt (the evaluator asks
a varying number of questions, so a fixed list would not do) and records every request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from roleplay.backends import ServerFeatures
from roleplay.judge import Judge

REPO = Path(__file__).resolve().parents[2]

Answer = AIMessage | str | httpx.Response
"""What a fake answers: a message (its content and `response_metadata["logprobs"]` go on the
wire), a text, or a whole HTTP response (an error, say)."""


def logprob_answer(p_yes: float) -> AIMessage:
    """An answer like the llama.cpp server's: one token with Yes/No top log-probabilities."""
    p_yes = min(max(p_yes, 1e-6), 1 - 1e-6)
    token = "Yes" if p_yes >= 0.5 else "No"
    yes, no = math.log(p_yes), math.log(1 - p_yes)
    tops = [{"token": "Yes", "logprob": yes, "bytes": None},
            {"token": "No", "logprob": no, "bytes": None}]
    return AIMessage(content=token, response_metadata={"logprobs": {"content": [
        {"token": token, "logprob": max(yes, no), "top_logprobs": tops}]}})


def agent_text(prompt: str) -> str:
    """The agent's reply as the check or rewrite prompt quotes it."""
    return prompt.split("Agent replied:")[-1].split("Agent said:")[-1]


def completion(answer: AIMessage | str) -> httpx.Response:
    """A /v1/chat/completions response carrying `answer`."""
    message = answer if isinstance(answer, AIMessage) else AIMessage(content=answer)
    logprobs = (message.response_metadata or {}).get("logprobs")
    return httpx.Response(200, json={
        "id": "fake", "object": "chat.completion", "created": 1, "model": "fake-judge",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": logprobs,
                     "message": {"role": "assistant", "content": str(message.content)}}]})


def unavailable(message: str) -> httpx.Response:
    """A 503 the client does not retry by itself (the judge's own retries are under test)."""
    return httpx.Response(503, headers={"x-should-retry": "false"},
                          json={"error": {"message": message}})


class JudgeServer:
    """The fake server: `respond(prompt, body)` answers; `calls` keeps every request.

    Each call is {"prompt": the messages' text joined, "kwargs": the request body without the
    messages}, so a test can tell checks (`logprobs`) from rewrites (`response_format`).
    """

    def __init__(self, respond: Callable[[str, dict[str, Any]], Answer]):
        self.respond = respond
        self.calls: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        prompt = "\n".join(str(m["content"]) for m in body.pop("messages"))
        self.calls.append({"prompt": prompt, "kwargs": body})
        answer = self.respond(prompt, body)
        return answer if isinstance(answer, httpx.Response) else completion(answer)


def judge_on(server: JudgeServer, thresholds: dict[str, float] | None = None,
             features: ServerFeatures | None = None) -> Judge:
    """A Judge whose chat model talks to `server`."""
    model = ChatOpenAI(base_url="http://fake-judge.invalid/v1", api_key=SecretStr("sk-fake-judge"),
                       model="fake-judge", max_retries=0,
                       http_client=httpx.Client(transport=httpx.MockTransport(server)))
    return Judge(model, "fake-judge", REPO / "prompts", thresholds=thresholds,
                 features=features)


def make_judge(check: Callable[[str], Answer] | None = None,
               rewrite: Callable[[str], Answer] | None = None,
               thresholds: dict[str, float] | None = None,
               features: ServerFeatures | None = None) -> tuple[Judge, JudgeServer]:
    """A Judge on the fake server: `check` answers yes/no prompts, `rewrite` rewrite prompts."""

    def respond(prompt: str, body: dict[str, Any]) -> Answer:
        if body.get("logprobs"):
            return check(prompt) if check else logprob_answer(0.5)
        if rewrite:
            return rewrite(prompt)
        return json.dumps({"rewrite": "I understand how frustrating this is. I'll fix it now."})

    server = JudgeServer(respond)
    return judge_on(server, thresholds, features), server
