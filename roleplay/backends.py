"""Builds the model clients: any OpenAI-compatible endpoint, the embedded server being one.

This is the only module that constructs models. Everything goes through LangChain's OpenAI
classes against a `base_url`: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp, or the embedded
llama.cpp server this package starts itself when nothing is configured.

What a server supports beyond the common API is a `ServerFeatures`, built here once per
endpoint from `Settings.server_features` (or by asking the server), and handed to the
customer model and the judge: the embedded server is treated as the llama.cpp server it is,
so a llama.cpp server started by hand behaves the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, cast

import httpx
import openai
from langchain_core.language_models import BaseChatModel, BaseLLM
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import AzureChatOpenAI, ChatOpenAI, OpenAI
from pydantic import BaseModel, ConfigDict, SecretStr

from roleplay.config import SERVER_FEATURES, ServerFeature, Settings
from roleplay.errors import BackendError

log = logging.getLogger(__name__)

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


class ServerFeatures(BaseModel):
    """What the server behind the endpoint supports beyond plain chat completions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_cache: bool = False
    """llama.cpp's `cache_prompt` request field: its prompt cache can be switched off per call."""

    logit_bias_words: bool = False
    """llama.cpp's `logit_bias` given as words (`[["word", false]]`), banning their tokens."""

    logprobs: bool = True
    """Top log-probabilities of the answer's tokens (the judge's yes/no checks need them)."""

    json_schema: bool = True
    """`response_format` of type `json_schema` (else the judge asks for `json_object`)."""

    completions: bool = True
    """The /v1/completions endpoint (else the customer is prompted through chat)."""

    source: str = "defaults"
    """Where this came from: the setting, or what the probe saw."""

    @property
    def grammar(self) -> bool:
        """llama.cpp's GBNF `grammar` request field. Not a feature of its own: the server that
        takes `logit_bias` as words is llama.cpp, and llama.cpp takes a grammar too."""
        return self.logit_bias_words

    @classmethod
    def of(cls, names: Iterable[ServerFeature], source: str) -> ServerFeatures:
        """Return the features named in `names` (every other one off)."""
        on = set(names)
        return cls(source=source, **{name: name in on for name in SERVER_FEATURES})

    def names(self) -> list[ServerFeature]:
        """The features that are on, in `SERVER_FEATURES` order."""
        return [name for name in SERVER_FEATURES if getattr(self, name)]


# What a probe concludes for each kind of server. Any OpenAI-compatible server other than
# llama.cpp gets what the OpenAI API itself offers, plus /v1/completions (vLLM, Ollama).
_LLAMACPP: tuple[ServerFeature, ...] = SERVER_FEATURES
_OPENAI: tuple[ServerFeature, ...] = ("logprobs", "json_schema")
_GENERIC: tuple[ServerFeature, ...] = ("logprobs", "json_schema", "completions")

# Keys of llama.cpp's GET /props answer; any one of them names the server.
_LLAMACPP_PROPS = frozenset({"default_generation_settings", "total_slots", "build_info"})

_probed: dict[str, ServerFeatures] = {}
_probe_lock = threading.Lock()


def server_features(settings: Settings, http_client: httpx.Client | None = None
                    ) -> ServerFeatures:
    """Return what the configured server supports: the setting, else what the server says.

    The probe asks once per endpoint and process (a probe through a given `http_client` is
    not remembered, so tests stay independent); a probe that gets no answer is not
    remembered either, so a server that comes up later is asked again.
    """
    if settings.server_features != "probe":
        return ServerFeatures.of(settings.server_features, "ROLEPLAY_SERVER_FEATURES")
    if settings.azure_endpoint:
        return ServerFeatures.of(_OPENAI, "Azure OpenAI")
    url = endpoint(settings).rstrip("/")
    if http_client is None:
        with _probe_lock:
            if url not in _probed:
                with httpx.Client(timeout=min(settings.timeout, 10.0)) as client:
                    features, answered = _probe(url, settings, client)
                if not answered:
                    return features
                _probed[url] = features
            return _probed[url]
    return _probe(url, settings, http_client)[0]


def _probe(url: str, settings: Settings, client: httpx.Client) -> tuple[ServerFeatures, bool]:
    """What the server at `url` (ending in /v1) is, and whether it answered at all."""
    headers = {"Authorization": f"Bearer {_key(settings).get_secret_value()}"}
    answered = False
    try:
        # llama.cpp's own endpoint, beside /v1: its server settings and build.
        props = client.get(url.removesuffix("/v1") + "/props", headers=headers)
        answered = True
        if props.status_code == 200 and _LLAMACPP_PROPS & set(_json(props)):
            return ServerFeatures.of(_LLAMACPP, f"probe: llama.cpp ({url} answers /props)"), True
        models = client.get(url + "/models", headers=headers)
        data = _json(models).get("data")
        owners = {str(m.get("owned_by")) for m in data if isinstance(m, dict)} \
            if isinstance(data, list) else set()
        if "llamacpp" in owners:
            return ServerFeatures.of(_LLAMACPP, f"probe: llama.cpp ({url}/models)"), True
    # A probe must never fail the call it serves: whatever goes wrong, assume the least.
    except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError) as err:
        log.warning("could not ask %s what it supports (%s: %s); assuming a plain "
                    "OpenAI-compatible server; set ROLEPLAY_SERVER_FEATURES to say",
                    url, type(err).__name__, err)
    if "api.openai.com" in url:
        return ServerFeatures.of(_OPENAI, "probe: the OpenAI API"), answered
    return ServerFeatures.of(_GENERIC, f"probe: an OpenAI-compatible server at {url}"), answered


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def make_chat_model(settings: Settings, purpose: Purpose = "customer",
                    http_client: httpx.Client | None = None, **kwargs: Any) -> BaseChatModel:
    """Return a LangChain chat model for the customer or the evaluator."""
    model = settings.model if purpose == "customer" else settings.eval_model
    # The judge's breaker stops a scoring run at the first failure; a retry inside the client
    # would be a second request to a dead server (a second timeout) before it could.
    retries = 1 if purpose == "customer" else 0
    common: dict[str, Any] = {
        "model": model, "timeout": settings.timeout, "max_retries": retries, **kwargs,
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
        return BackendError(f"{where} did not answer within {settings.timeout:g} s; "
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
    return BackendError(f"{where} failed: {redact_error(err)}")


def _cut(err: BaseException) -> bool:
    """True when `err` (or what caused it) is a connection that closed mid-answer."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, httpx.RemoteProtocolError | httpx.ReadError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def redact_error(err: Exception) -> str:
    """A short description of a failed model call: its HTTP status and error type, never the
    message, which for a status error holds the server's body (it may echo the API key and the
    prompt)."""
    status = getattr(err, "status_code", None)
    if status is None and isinstance(err, httpx.HTTPStatusError):
        status = err.response.status_code
    kind = type(err).__name__
    return f"HTTP {status} ({kind})" if isinstance(status, int) else kind


class CustomerModel:
    """Continues a call transcript with the customer's next line, streamed."""

    def __init__(self, settings: Settings, http_client: httpx.Client | None = None,
                 features: ServerFeatures | None = None, *,
                 completion_model: BaseLLM | None = None,
                 chat_model: BaseChatModel | None = None):
        """`completion_model`/`chat_model`: LangChain models to use instead of building them
        from `settings` (a test's fake model, say); `features`: what the server supports, if
        the caller knows (else the server is asked on first use)."""
        self.settings = settings
        self.name = settings.model
        self._http_client = http_client
        self._features = features
        self._llm: BaseLLM | None = completion_model
        self._chat: BaseChatModel | None = chat_model
        # The status and content type of the last answer in this thread (one model serves
        # every call of the web app, each streamed in its own thread): a server that answers
        # 200 with something else is then named by what it sent, never by its body.
        self._answer = threading.local()
        # Sampling constraints of the reply being made in this thread (see grammar()).
        self._sampling = threading.local()
        self._model_client: httpx.Client | None = None

    def _seen(self, response: httpx.Response) -> None:
        self._answer.last = (response.status_code,
                             response.headers.get("content-type", "no content type"))

    def _client(self) -> httpx.Client:
        # The client the models send on, with a hook that records each answer's status.
        if self._model_client is None:
            # openai's own default client (its limits and redirects); typed against a
            # vendored httpx, so mypy needs telling it is an httpx.Client.
            client = self._http_client or cast(httpx.Client, openai.DefaultHttpxClient())
            client.event_hooks["response"] = [*client.event_hooks["response"], self._seen]
            self._model_client = client
        return self._model_client

    def __repr__(self) -> str:
        return f"CustomerModel(model={self.name!r}, style={self.settings.prompt_style!r})"

    @property
    def features(self) -> ServerFeatures:
        """What the server supports; asked on first use, so building this starts nothing."""
        if self._features is None:
            self._features = server_features(self.settings, self._http_client)
        return self._features

    @property
    def completion_style(self) -> bool:
        """True when the customer continues the transcript on /v1/completions."""
        return self.settings.prompt_style == "completion" and self.features.completions

    def _completion(self) -> BaseLLM:
        if self._llm is None:
            self._llm = make_completion_model(self.settings, http_client=self._client())
        return self._llm

    def _chat_model(self) -> BaseChatModel:
        if self._chat is None:
            self._chat = make_chat_model(self.settings, "customer", http_client=self._client())
        return self._chat

    @contextmanager
    def grammar(self, grammar: str | None) -> Iterator[None]:
        """Within the block, this thread's stream() calls send `grammar` (GBNF, see
        roleplay.grammar) on llama.cpp; other servers get none, and the character check still
        catches what it was meant to prevent.

        A block rather than an argument of stream(), so that models wrapping stream() (the
        benchmark's recorder, test fakes) keep working unchanged; stream() reads it when
        called, not when first iterated, so the block need only hold the call.
        """
        before = getattr(self._sampling, "grammar", None)
        self._sampling.grammar = grammar
        try:
            yield
        finally:
            self._sampling.grammar = before

    def stream(self, prompt: str, stop: list[str], max_tokens: int = 96,
               temperature: float = 0.8, avoid: Sequence[str] = ()) -> Iterator[str]:
        """Yield the continuation of `prompt` piece by piece; BackendError on any failure.

        `avoid`: words the reply should not use, on servers that take them as words
        (llama.cpp); other backends get a regeneration without them.
        """
        # Read now: a generator resumed later may run in another thread (Gradio's workers).
        return self._stream(prompt, stop, max_tokens, temperature, avoid,
                            getattr(self._sampling, "grammar", None))

    def _stream(self, prompt: str, stop: list[str], max_tokens: int, temperature: float,
                avoid: Sequence[str], grammar: str | None) -> Iterator[str]:
        self._answer.last = None
        started = False
        try:
            if self.completion_style:
                llm = self._completion()
                extra: dict[str, Any] = {}
                body: dict[str, Any] = {}
                if avoid and self.features.logit_bias_words:
                    # llama.cpp accepts words here and bans every token of each; the OpenAI
                    # API wants token ids of its own tokenizer, which this code cannot know.
                    body["logit_bias"] = [[word, False] for word in avoid]
                if grammar and self.features.grammar:
                    body["grammar"] = grammar
                if body:
                    extra["extra_body"] = body
                for piece in llm.stream(prompt, stop=stop, max_tokens=max_tokens,
                                        temperature=temperature, **extra):
                    started = True
                    yield piece
            else:
                chat = self._chat_model()
                messages = [SystemMessage(CHAT_STYLE_SYSTEM), HumanMessage(prompt)]
                for chunk in chat.stream(messages, stop=stop, max_tokens=max_tokens,
                                         temperature=temperature):
                    started = True
                    if isinstance(chunk.content, str):
                        yield chunk.content
        except Exception as err:  # every client failure becomes one message
            raise self._describe(err, started) from err

    def _describe(self, err: Exception, started: bool) -> BackendError:
        where = self.settings.base_url or self.settings.azure_endpoint or \
            "the embedded model server"
        answer: tuple[int, str] | None = getattr(self._answer, "last", None)
        timeout = isinstance(err, openai.APITimeoutError | httpx.TimeoutException)
        if not timeout and answer is not None and (started or _cut(err)):
            # The server answered, then the connection closed before the reply was finished:
            # it was reachable a moment ago, so "cannot reach" would send the operator to the
            # wrong place.
            return BackendError(f"{where} stopped in the middle of the reply (the connection "
                                "closed before the reply was finished); press Retry, and if it "
                                "keeps happening check the model server's log")
        if answer is not None and answer[0] < 400 and not isinstance(
                err, openai.APIError | httpx.HTTPError | BackendError):
            status, content_type = answer
            # A parse failure of a successful answer: a web page, some other JSON API. Named
            # by status and content type only; the body is the server's, and may echo the key.
            return BackendError(f"{where} answered with something that is not a model reply "
                                f"(HTTP {status}, content type {content_type}); check that "
                                "ROLEPLAY_BASE_URL is the /v1 address of an OpenAI-compatible "
                                "server (unset it to use the embedded model), then press Retry")
        return describe_error(err, self.settings)

    def warm(self, prompt: str) -> None:
        """Process `prompt` once so the server's prompt cache holds it for the first turn."""
        if not self.completion_style:
            return  # hosted APIs cache on their own; a warm-up would only cost tokens
        for _ in self.stream(prompt, stop=["\n"], max_tokens=1, temperature=0.0):
            pass
