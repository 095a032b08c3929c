"""Builds the model clients: any OpenAI-compatible endpoint, the embedded server being one.

This is the only module that constructs models. Everything goes through LangChain's OpenAI
classes against a `base_url`: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp, or the embedded
llama.cpp server this package starts itself when nothing is configured.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import httpx
import openai
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import AzureChatOpenAI, ChatOpenAI, OpenAI
from pydantic import SecretStr

from roleplay.config import Settings
from roleplay.errors import BackendError

Purpose = Literal["customer", "eval"]

# Chat-only APIs get the transcript inside one message; the instruction asks for the same
# thing a completion model does naturally: the next line of the customer, nothing else.
CHAT_STYLE_SYSTEM = (
    "You continue call transcripts. Write only the next line of the speaker named at the end "
    "of the transcript, in their voice and language, without the speaker label."
)


def endpoint(settings: Settings) -> str:
    """Return the OpenAI base URL to use, starting the embedded server if none is configured."""
    if settings.base_url:
        return settings.base_url
    from roleplay.embedded import embedded_base_url

    return embedded_base_url(settings)


def _key(settings: Settings) -> SecretStr:
    # Local servers accept any key; the OpenAI client refuses to start without one.
    return settings.api_key or SecretStr("not-needed")


def make_chat_model(settings: Settings, purpose: Purpose = "customer",
                    http_client: httpx.Client | None = None, **kwargs: Any) -> BaseChatModel:
    """Return a LangChain chat model for the customer or the evaluator."""
    model = settings.model if purpose == "customer" else settings.eval_model
    common: dict[str, Any] = {
        "model": model, "timeout": settings.timeout, "max_retries": 1, **kwargs,
    }
    if http_client is not None:
        common["http_client"] = http_client
    if settings.azure_endpoint:
        return AzureChatOpenAI(
            azure_endpoint=settings.azure_endpoint, azure_deployment=model,
            api_version=settings.azure_api_version,
            api_key=settings.azure_api_key or settings.api_key, **common,
        )
    return ChatOpenAI(base_url=endpoint(settings), api_key=_key(settings), **common)


def make_completion_model(settings: Settings, http_client: httpx.Client | None = None,
                          **kwargs: Any) -> BaseLLM:
    """Return a LangChain completion model (/v1/completions) for transcript continuation."""
    common: dict[str, Any] = {
        "model": settings.model, "timeout": settings.timeout, "max_retries": 1, **kwargs,
    }
    if http_client is not None:
        common["http_client"] = http_client
    return OpenAI(base_url=endpoint(settings), api_key=_key(settings), **common)


def describe_error(err: Exception, settings: Settings) -> BackendError:
    """Turn a client exception into a BackendError that says what happened and what to do."""
    where = settings.base_url or settings.azure_endpoint or "the embedded model server"
    if isinstance(err, BackendError):
        return err
    if isinstance(err, openai.APITimeoutError | httpx.TimeoutException):
        return BackendError(f"{where} did not answer within {settings.timeout:.0f} s; "
                            "try again, or raise ROLEPLAY_TIMEOUT")
    if isinstance(err, openai.APIConnectionError | httpx.ConnectError):
        return BackendError(f"cannot reach {where}; check that it is running and that "
                            "ROLEPLAY_BASE_URL is right (unset it to use the embedded model)")
    if isinstance(err, openai.AuthenticationError):
        return BackendError(f"{where} refused the API key; set ROLEPLAY_API_KEY", retryable=False)
    if isinstance(err, openai.NotFoundError):
        return BackendError(f"{where} has no model {settings.model!r}; set ROLEPLAY_MODEL "
                            "(or ROLEPLAY_EVAL_MODEL) to one it serves, or check "
                            "ROLEPLAY_PROMPT_STYLE", retryable=False)
    if isinstance(err, openai.APIStatusError):
        return BackendError(f"{where} answered HTTP {err.status_code}; try again in a moment")
    return BackendError(f"{where} failed: {type(err).__name__}: {err}")


class CustomerModel:
    """Continues a call transcript with the customer's next line, streamed."""

    def __init__(self, settings: Settings, http_client: httpx.Client | None = None):
        self.settings = settings
        self.name = settings.model
        self._http_client = http_client
        self._llm: BaseLLM | None = None
        self._chat: BaseChatModel | None = None

    def _completion(self) -> BaseLLM:
        if self._llm is None:
            self._llm = make_completion_model(self.settings, http_client=self._http_client)
        return self._llm

    def _chat_model(self) -> BaseChatModel:
        if self._chat is None:
            self._chat = make_chat_model(self.settings, "customer", http_client=self._http_client)
        return self._chat

    def stream(self, prompt: str, stop: list[str], max_tokens: int = 96,
               temperature: float = 0.8, avoid: Sequence[str] = ()) -> Iterator[str]:
        """Yield the continuation of `prompt` piece by piece; BackendError on any failure.

        `avoid`: words the reply should not use, on servers that take them (the embedded
        llama.cpp server); other backends get a regeneration without them.
        """
        try:
            if self.settings.prompt_style == "completion":
                llm = self._completion()
                extra: dict[str, Any] = {}
                if avoid and self.settings.embedded:
                    # llama.cpp accepts words here and bans every token of each; the OpenAI
                    # API wants token ids of its own tokenizer, which this code cannot know.
                    extra["extra_body"] = {"logit_bias": [[word, False] for word in avoid]}
                yield from llm.stream(prompt, stop=stop, max_tokens=max_tokens,
                                      temperature=temperature, **extra)
            else:
                chat = self._chat_model()
                messages = [SystemMessage(CHAT_STYLE_SYSTEM), HumanMessage(prompt)]
                for chunk in chat.stream(messages, stop=stop, max_tokens=max_tokens,
                                         temperature=temperature):
                    if isinstance(chunk.content, str):
                        yield chunk.content
        except Exception as err:  # every client failure becomes one message
            raise describe_error(err, self.settings) from err

    def warm(self, prompt: str) -> None:
        """Process `prompt` once so the server's prompt cache holds it for the first turn."""
        if self.settings.prompt_style != "completion":
            return  # hosted APIs cache on their own; a warm-up would only cost tokens
        for _ in self.stream(prompt, stop=["\n"], max_tokens=1, temperature=0.0):
            pass
