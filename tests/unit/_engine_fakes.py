"""A scripted completion server for engine tests: the real CustomerModel on a fake wire.

The engine streams from /v1/completions, warms the prompt cache with a one-token request and
sends words to avoid as llama.cpp's `logit_bias`; all of that is on the wire, so the fake is
an `httpx.MockTransport` behind the model's public `http_client`, answering from a script.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from roleplay.backends import CustomerModel
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.store import TranscriptStore


class Down:
    """A script entry: the server answers this reply with HTTP 503."""


DOWN = Down()

LLAMACPP_PROPS = {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 2,
                  "build_info": "fake"}
"""What llama.cpp answers on /props (the part the probe reads)."""


def sse(*texts: str) -> httpx.Response:
    """A streamed /v1/completions answer that sends `texts` as pieces."""
    events = [json.dumps({"id": "c", "object": "text_completion", "created": 1, "model": "m",
                          "choices": [{"text": t, "index": 0, "logprobs": None,
                                       "finish_reason": None}]}) for t in texts]
    body = "".join(f"data: {e}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


class ScriptedServer:
    """Answers each reply request with the next scripted reply, streamed word by word.

    One-token requests are the engine's prompt warm-ups: they are recorded in `warmed` and
    use no reply. `llamacpp` makes the server answer /props as llama.cpp does.
    """

    def __init__(self, replies: list[str | Down], llamacpp: bool = True):
        self.replies = list(replies)
        self.llamacpp = llamacpp
        self.bodies: list[dict[str, Any]] = []
        self.warmed: list[str] = []

    @property
    def prompts(self) -> list[str]:
        """The prompt of every reply request."""
        return [str(b["prompt"]) for b in self.bodies]

    @property
    def avoided(self) -> list[list[str]]:
        """The words each reply request banned through llama.cpp's `logit_bias`."""
        return [[word for word, _ in b.get("logit_bias") or []] for b in self.bodies]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            if request.url.path == "/props" and self.llamacpp:
                return httpx.Response(200, json=LLAMACPP_PROPS)
            return httpx.Response(404, json={"error": {"message": "not found"}})
        body = json.loads(request.content)
        if body.get("max_tokens") == 1:
            self.warmed.append(str(body["prompt"]))
            return sse("x")
        self.bodies.append(body)
        if not self.replies:
            return httpx.Response(500, headers={"x-should-retry": "false"},
                                  json={"error": {"message": "the script has no more replies"}})
        reply = self.replies.pop(0)
        if isinstance(reply, Down):
            # Not retried by the client itself, so one script entry is one failed reply.
            return httpx.Response(503, headers={"x-should-retry": "false"},
                                  json={"error": {"message": "loading model"}})
        words = reply.split(" ")
        return sse(*[w if i == 0 else " " + w for i, w in enumerate(words)])


def scripted_model(server: ScriptedServer, model: str = "scripted") -> CustomerModel:
    """The real CustomerModel, talking to `server`."""
    settings = Settings(base_url="http://scripted.invalid/v1", model=model, timeout=5.0)
    return CustomerModel(settings, http_client=httpx.Client(transport=httpx.MockTransport(server)))


def scripted_engine(replies: list[str | Down], store: TranscriptStore,
                    prompts_dir: Path = PROJECT_ROOT / "prompts", llamacpp: bool = True
                    ) -> tuple[ConversationEngine, ScriptedServer]:
    """An engine on a scripted server, and the server (to read what was sent)."""
    server = ScriptedServer(replies, llamacpp=llamacpp)
    return ConversationEngine(scripted_model(server), store, prompts_dir), server
