"""What the server supports is a setting or a probe, never "is it the embedded one"; no repr
shows a key.

The probe and the requests are checked on the wire, through the public `http_client` with an
`httpx.MockTransport`; a llama.cpp server given as ROLEPLAY_BASE_URL gets what the embedded
(llama.cpp) server gets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from _engine_fakes import LLAMACPP_PROPS, sse
from _judge_fakes import JudgeServer, judge_on, logprob_answer
from langchain_core.language_models import FakeListLLM
from pydantic import SecretStr

from roleplay.backends import (
    CustomerModel,
    ServerFeatures,
    make_chat_model,
    make_completion_model,
    server_features,
)
from roleplay.config import SERVER_FEATURES, Settings, settings_from_env
from roleplay.conversation import ConversationEngine
from roleplay.errors import ConfigError
from roleplay.judge import Judge
from roleplay.store import SqliteStore

URL = "http://127.0.0.1:8080/v1"
KEY = "sk-test-0123456789abcdef"
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, seen: list[httpx.Request] | None = None) -> httpx.Client:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    return httpx.Client(transport=httpx.MockTransport(record))


def llamacpp(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/props":
        return httpx.Response(200, json=LLAMACPP_PROPS)
    return httpx.Response(404)


def models_owned_by(owner: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [
                {"id": "m", "object": "model", "created": 1, "owned_by": owner}]})
        return httpx.Response(404)

    return handler


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


# --- the setting -------------------------------------------------------------------------

def test_the_default_is_to_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLEPLAY_SERVER_FEATURES", raising=False)
    assert settings_from_env().server_features == "probe"


@pytest.mark.parametrize("raw, names", [
    ("logprobs, JSON_SCHEMA", {"logprobs", "json_schema"}),
    ("none", set()),
    (",".join(SERVER_FEATURES), set(SERVER_FEATURES)),
])
def test_the_setting_names_the_features(monkeypatch: pytest.MonkeyPatch, raw: str,
                                        names: set[str]) -> None:
    monkeypatch.setenv("ROLEPLAY_SERVER_FEATURES", raw)
    settings = settings_from_env()
    assert settings.server_features == frozenset(names)
    seen: list[httpx.Request] = []
    features = server_features(settings.model_copy(update={"base_url": URL}),
                               client(llamacpp, seen))
    assert set(features.names()) == names
    assert seen == []  # a stated setting asks the server nothing


def test_an_unknown_feature_is_an_error_that_lists_the_known_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEPLAY_SERVER_FEATURES", "logprobs,grammar")
    with pytest.raises(ConfigError, match="unknown feature.*grammar.*prompt_cache"):
        settings_from_env()


# --- the probe ---------------------------------------------------------------------------

@pytest.mark.parametrize("handler, llama", [
    (llamacpp, True),
    (models_owned_by("llamacpp"), True),
    (models_owned_by("vllm"), False),
    (lambda request: httpx.Response(404), False),
    (refuse, False),
])
def test_the_probe_tells_llama_cpp_from_other_servers(handler: Handler, llama: bool) -> None:
    features = server_features(Settings(base_url=URL, api_key=SecretStr(KEY)), client(handler))
    assert features.prompt_cache is llama and features.logit_bias_words is llama
    # What every OpenAI-compatible server is assumed to have.
    assert features.logprobs and features.json_schema and features.completions


def test_the_probe_sends_the_key_and_reads_props_beside_v1() -> None:
    seen: list[httpx.Request] = []
    server_features(Settings(base_url=URL, api_key=SecretStr(KEY)), client(llamacpp, seen))
    assert str(seen[0].url) == "http://127.0.0.1:8080/props"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_openai_and_azure_have_no_completions_endpoint_for_chat_models() -> None:
    openai = server_features(Settings(base_url="https://api.openai.com/v1"),
                             client(lambda r: httpx.Response(404)))
    azure = server_features(Settings(azure_endpoint="https://x.openai.azure.com"))
    for features in (openai, azure):
        assert features.names() == ["logprobs", "json_schema"]


# --- the features change the requests -------------------------------------------------------

def test_a_llama_cpp_server_at_base_url_gets_its_checks_without_the_prompt_cache() -> None:
    features = server_features(Settings(base_url=URL), client(llamacpp))
    server = JudgeServer(lambda prompt, body: logprob_answer(0.9))
    judge = judge_on(server, features=features)
    assert judge.p_yes("Did the agent apologise?", "It broke.", "Sorry.").p_yes == \
        pytest.approx(0.9)
    assert server.calls[-1]["kwargs"]["cache_prompt"] is False


def test_other_servers_get_no_llama_cpp_fields() -> None:
    server = JudgeServer(lambda prompt, body: logprob_answer(0.9))
    judge = judge_on(server, features=ServerFeatures())
    judge.p_yes("Did the agent apologise?", "It broke.", "Sorry.")
    assert "cache_prompt" not in server.calls[-1]["kwargs"]


def test_a_rewrite_asks_for_the_schema_without_length_bounds() -> None:
    # llama.cpp turns minLength/maxLength into one grammar rule per character (minutes).
    server = JudgeServer(lambda prompt, body: json.dumps({"rewrite": "I'm sorry. I'll fix it."}))
    judge = judge_on(server, features=ServerFeatures())
    result = judge.rewrite(title="t", description="d", quote="q", problem="p",
                           good_example="g", customer="c", agent="a", language="en",
                           validate=lambda text: None)
    assert result.text == "I'm sorry. I'll fix it."
    (call,) = server.calls
    assert call["kwargs"]["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "rewrite", "strict": True, "schema": {
            "type": "object", "properties": {"rewrite": {"type": "string"}},
            "required": ["rewrite"], "additionalProperties": False}}}
    assert call["kwargs"]["max_completion_tokens"] == 120


def test_a_server_without_logprobs_is_not_asked_the_checks() -> None:
    server = JudgeServer(lambda prompt, body: logprob_answer(0.9))
    judge = judge_on(server, features=ServerFeatures(logprobs=False))
    result = judge.p_yes("Did the agent apologise?", "It broke.", "Sorry.")
    assert result.p_yes is None and "log-probabilities" in (result.error or "")
    assert server.calls == []


def test_a_server_without_completions_plays_the_customer_through_chat() -> None:
    seen: list[httpx.Request] = []

    def chat(request: httpx.Request) -> httpx.Response:
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Fine."},
                              "finish_reason": None}]}
        return httpx.Response(200, text=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n",
                              headers={"content-type": "text/event-stream"})

    settings = Settings(base_url=URL, server_features=frozenset({"logprobs"}))
    model = CustomerModel(settings, http_client=client(chat, seen))
    assert "".join(model.stream("Agent: Hi\nDana:", stop=["\nAgent:"])) == "Fine."
    assert [r.url.path for r in seen] == ["/v1/chat/completions"]


def test_the_customer_model_asks_the_server_once() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        return llamacpp(request) if request.method == "GET" else sse(" Fine.")

    model = CustomerModel(Settings(base_url=URL), http_client=client(server, seen))
    for _ in range(3):
        list(model.stream("Agent: Hi\nDana:", stop=["\nAgent:"], avoid=["Your"]))
    assert [r.url.path for r in seen] == ["/props"] + ["/v1/completions"] * 3
    assert json.loads(seen[-1].content)["logit_bias"] == [["Your", False]]


def test_a_given_langchain_model_is_used_instead_of_one_built_from_settings() -> None:
    settings = Settings(base_url=URL, model="given")
    customer = CustomerModel(settings, features=ServerFeatures(),
                             completion_model=FakeListLLM(responses=["Fine. Call me back."]))
    assert "".join(customer.stream("Agent: Hi\nDana:", stop=["\nAgent:"])) == \
        "Fine. Call me back."


# --- no key in any repr -------------------------------------------------------------------

def test_no_settings_or_model_repr_shows_the_key(tmp_path: Path) -> None:
    settings = Settings(base_url=URL, api_key=SecretStr(KEY), azure_api_key=SecretStr(KEY),
                        db_path=tmp_path / "s.sqlite3")
    azure = settings.model_copy(update={"azure_endpoint": "https://x.openai.azure.com"})
    http = client(llamacpp)
    customer = CustomerModel(settings, http_client=http, features=ServerFeatures())
    shown = [
        settings, azure, settings.model_dump(), settings.model_dump_json(),
        make_chat_model(settings, http_client=http), make_chat_model(azure, http_client=http),
        make_completion_model(settings, http_client=http),
        Judge(make_chat_model(settings, "eval", http_client=http), settings.eval_model,
              settings.prompts_dir),
        customer, ConversationEngine(customer, SqliteStore(settings.db_path),
                                     settings.prompts_dir),
    ]
    for thing in shown:
        assert KEY not in repr(thing) and KEY not in str(thing), type(thing).__name__
    # The key is still there for the client to send.
    assert make_chat_model(settings, http_client=http).openai_api_key.get_secret_value() == KEY  # type: ignore[attr-defined]
