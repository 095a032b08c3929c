"""The stand-in backend: a tiny, fast OpenAI-compatible server that is NOT a model.

It streams a fixed customer line, a few words at a time with a fixed delay per token, on
/v1/completions and /v1/chat/completions, so `roleplay loadtest` can load the web app and
its database with many trainees without a model's cost. Its replies mean nothing: a load
test on it measures the app, the store and the queue, never the quality of a reply or a
score, and every answer names it (`model: roleplay-stand-in`).

    with StandInServer(token_delay=0.02) as server:   # 127.0.0.1, a free port
        settings = settings.model_copy(update={"base_url": server.base_url})
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from roleplay.errors import BackendError

MODEL_ID = "roleplay-stand-in"
"""The only model the stand-in names, in every answer: never mistaken for a real one."""

# Customer-like lines (in character, no agent talk); a reply is the first one the prompt does
# not hold yet, so a call never hears the same line twice (the engine refuses a repeat);
# each word is one "token" of the stream.
LINES = (
    "I have been waiting for this for two weeks now, so what are you going to do about it?",
    "Fine, but I want it sorted today, not another promise.",
    "That is the third time somebody has told me that.",
    "Alright. And when exactly will I hear back from you?",
    "Okay, that sounds better. Thank you for actually listening.",
    "And who is going to pay for the time I have lost on this?",
    "I just want someone to take responsibility for once.",
    "Right. Write that down, because I will hold you to it.",
)
MORE = "Fine. I am still here, and this is the {n}th thing I have had to say about it."
"""A reply once every line of LINES is in the prompt: numbered, so it is new too."""


class StandInServer:
    """The stand-in on `host`:`port` (0: a free one) in a background thread, until stop()."""

    def __init__(self, token_delay: float = 0.02, host: str = "127.0.0.1", port: int = 0):
        self.token_delay = token_delay
        self.requests = 0
        """Requests answered so far (chat and completions)."""
        self.peak = 0
        """Most requests in flight at once."""
        self._active = 0
        self._lock = threading.Lock()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            sock.close()
            raise BackendError(f"the stand-in backend cannot listen on {host}:{port}: "
                               f"{err.strerror}; pick another port", retryable=False) from None
        self._sock = sock
        self.base_url = f"http://{host}:{sock.getsockname()[1]}/v1"
        app = Starlette(routes=[
            Route("/v1/models", self._models),
            Route("/v1/completions", self._complete, methods=["POST"]),
            Route("/v1/chat/completions", self._complete, methods=["POST"]),
            Route("/health", lambda _: JSONResponse({"status": "ok"})),
        ])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="stand-in", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise BackendError("the stand-in backend did not start", retryable=False)
            time.sleep(0.02)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": MODEL_ID, "object": "model", "owned_by": MODEL_ID}]})

    async def _complete(self, request: Request) -> Response:
        try:
            body: dict[str, Any] = await request.json()
        except ValueError:
            return JSONResponse({"error": {"message": "body is not JSON"}}, status_code=400)
        chat = request.url.path.endswith("/chat/completions")
        line = _reply(_prompt_text(body))
        limit = body.get("max_tokens")
        pieces = _pieces(line)[:limit if isinstance(limit, int) and limit > 0 else None]
        if body.get("stream"):
            return StreamingResponse(self._stream(pieces, chat), media_type="text/event-stream")
        async with self._serving():
            await asyncio.sleep(self.token_delay * len(pieces))
        text = "".join(pieces)
        choice: dict[str, Any] = ({"index": 0, "message": {"role": "assistant", "content": text},
                                   "finish_reason": "stop"} if chat
                                  else {"index": 0, "text": text, "finish_reason": "stop"})
        return JSONResponse(_envelope(chat, [choice]))

    async def _stream(self, pieces: list[str], chat: bool) -> AsyncIterator[str]:
        async with self._serving():
            for piece in pieces:
                await asyncio.sleep(self.token_delay)
                choice = ({"index": 0, "delta": {"content": piece}, "finish_reason": None}
                          if chat else {"index": 0, "text": piece, "finish_reason": None})
                yield f"data: {json.dumps(_envelope(chat, [choice], chunk=True))}\n\n"
            last = ({"index": 0, "delta": {}, "finish_reason": "stop"} if chat
                    else {"index": 0, "text": "", "finish_reason": "stop"})
            yield f"data: {json.dumps(_envelope(chat, [last], chunk=True))}\n\n"
            yield "data: [DONE]\n\n"

    def _serving(self) -> _InFlight:
        return _InFlight(self)


class _InFlight:
    """Counts a request in flight (for `peak`) and as answered."""

    def __init__(self, server: StandInServer):
        self.server = server

    async def __aenter__(self) -> None:
        with self.server._lock:
            self.server._active += 1
            self.server.requests += 1
            self.server.peak = max(self.server.peak, self.server._active)

    async def __aexit__(self, *exc: object) -> None:
        with self.server._lock:
            self.server._active -= 1


def _prompt_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if isinstance(messages, list):
        return " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    return str(body.get("prompt", ""))


def _reply(prompt: str) -> str:
    """The first of LINES not in `prompt`, else a numbered MORE line not in it."""
    for line in LINES:
        if line not in prompt:
            return line
    n = next(n for n in itertools.count(len(LINES) + 1) if MORE.format(n=n) not in prompt)
    return MORE.format(n=n)


def _pieces(line: str) -> list[str]:
    """`line` as stream pieces: a leading space and one word each."""
    return [" " + word for word in line.split()]


def _envelope(chat: bool, choices: list[dict[str, Any]], chunk: bool = False) -> dict[str, Any]:
    kind = ("chat.completion.chunk" if chunk else "chat.completion") if chat else "text_completion"
    return {"id": f"standin-{time.monotonic_ns()}", "object": kind, "created": int(time.time()),
            "model": MODEL_ID, "choices": choices}
