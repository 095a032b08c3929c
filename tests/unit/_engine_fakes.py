"""A scripted CustomerModel for engine tests: no server, replies given in advance."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from roleplay.backends import CustomerModel
from roleplay.config import Settings
from roleplay.errors import BackendError


class ScriptedModel(CustomerModel):
    """Streams each scripted reply in word-sized pieces; an exception in the script is raised."""

    def __init__(self, replies: list[str | Exception]):
        super().__init__(Settings(base_url="http://127.0.0.1:9/v1", model="scripted"))
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.stops: list[list[str]] = []
        self.warmed: list[str] = []
        self.avoided: list[list[str]] = []

    def stream(self, prompt: str, stop: list[str], max_tokens: int = 96,
               temperature: float = 0.8, avoid: Sequence[str] = ()) -> Iterator[str]:
        self.prompts.append(prompt)
        self.avoided.append(list(avoid))
        self.stops.append(stop)
        if not self.replies:
            raise BackendError("the script has no more replies")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        for i, word in enumerate(reply.split(" ")):
            yield word if i == 0 else " " + word

    def warm(self, prompt: str) -> None:
        self.warmed.append(prompt)
