"""Settings: endpoints, model names and paths, read from the environment once.

This is the only module that reads environment variables. Everything else receives a
`Settings` (or the piece of it it needs) as an argument.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from roleplay.errors import ConfigError

# The repository root: personas/ and prompts/ live beside the package in a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

EMBEDDED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct"

ServerFeature = Literal["prompt_cache", "logit_bias_words", "logprobs", "json_schema",
                        "completions"]
"""What an OpenAI-compatible server may support beyond chat: llama.cpp's `cache_prompt` field,
llama.cpp's `logit_bias` given as words, top log-probabilities, `response_format` of type
`json_schema`, and the /v1/completions endpoint."""

SERVER_FEATURES: tuple[ServerFeature, ...] = ("prompt_cache", "logit_bias_words", "logprobs",
                                              "json_schema", "completions")


class Settings(BaseModel):
    """Everything configurable, with the defaults the README documents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    """OpenAI-compatible endpoint (`ROLEPLAY_BASE_URL`). None means the embedded model."""
    embedding_url: str | None = None
    """OpenAI-compatible `/v1/embeddings` server of the packaged model (`ROLEPLAY_EMBEDDING_URL`,
    e.g. the one `roleplay model-server` starts); the appraisal's classifier uses it when set."""

    api_key: SecretStr | None = None
    """Key for `base_url` (`ROLEPLAY_API_KEY`, else `OPENAI_API_KEY`)."""

    model: str = EMBEDDED_MODEL_NAME
    """Model that plays the customer (`ROLEPLAY_MODEL`); the deployment name on Azure."""

    eval_model: str = EMBEDDED_MODEL_NAME
    """Model the evaluator uses (`ROLEPLAY_EVAL_MODEL`, default: `model`)."""

    azure_endpoint: str | None = None
    """Azure OpenAI endpoint (`AZURE_OPENAI_ENDPOINT`); set it to use Azure."""

    azure_api_key: SecretStr | None = None
    """Azure OpenAI key (`AZURE_OPENAI_API_KEY`)."""

    azure_api_version: str = "2024-10-21"
    """Azure OpenAI API version (`OPENAI_API_VERSION`)."""

    server_features: Literal["probe"] | frozenset[ServerFeature] = "probe"
    """What the server supports (`ROLEPLAY_SERVER_FEATURES`): `probe` asks it once (llama.cpp,
    the embedded server included, answers `GET /props`), or a comma-separated list of
    `SERVER_FEATURES`, or `none`."""

    prompt_style: Literal["completion", "chat"] = "completion"
    """How the customer is prompted (`ROLEPLAY_PROMPT_STYLE`): `completion` continues a call
    transcript on /v1/completions (holds character on small models); `chat` sends the same
    transcript inside a chat message, for chat-only APIs such as OpenAI and Azure."""

    local_model: Path | None = None
    """A GGUF file to serve instead of the packaged model (`ROLEPLAY_LOCAL_MODEL`)."""

    local_threads: int = Field(default_factory=lambda: os.cpu_count() or 2)
    """CPU threads for the embedded server (`ROLEPLAY_LOCAL_THREADS`)."""

    local_ctx: int = 4096
    """Context window of each embedded server slot, in tokens (`ROLEPLAY_LOCAL_CTX`)."""

    local_parallel: int = 2
    """Requests the embedded server runs at once (`ROLEPLAY_LOCAL_PARALLEL`)."""

    context_tokens: int = 4096
    """Prompt budget for the customer, in tokens (`ROLEPLAY_CONTEXT_TOKENS`)."""

    timeout: float = 120.0
    """Seconds before a model request is abandoned (`ROLEPLAY_TIMEOUT`)."""

    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir("roleplay")))
    """Where the joined embedded model is kept (`ROLEPLAY_CACHE_DIR`)."""

    db_path: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("roleplay")) / "roleplay.sqlite3"
    )
    """SQLite file of sessions and turns (`ROLEPLAY_DB`), used when no database_url is set."""

    database_url: SecretStr | None = None
    """The database (`ROLEPLAY_DATABASE_URL`), e.g. `postgresql://user@host/roleplay`;
    None keeps the SQLite file at db_path (see roleplay.store.database). Secret: a URL
    may carry a password."""

    personas_dir: Path = PROJECT_ROOT / "personas"
    """Directory of persona YAML files (`ROLEPLAY_PERSONAS_DIR`)."""

    prompts_dir: Path = PROJECT_ROOT / "prompts"
    """Directory of prompt templates and the rubric (`ROLEPLAY_PROMPTS_DIR`)."""

    evals_dir: Path = PROJECT_ROOT / "evals"
    """Directory of the eval data and the judge's `calibration.yaml` (`ROLEPLAY_EVALS_DIR`)."""

    host: str = "127.0.0.1"
    """Web app host (`ROLEPLAY_HOST`)."""

    port: int = 7860
    """Web app port (`ROLEPLAY_PORT`)."""

    users_file: Path | None = None
    """YAML file of web users and roles (`ROLEPLAY_USERS`); None turns login off."""

    concurrency: int = 2
    """Customer replies this process asks the model for at once (`ROLEPLAY_CONCURRENCY`);
    more wait in line, told their place (set it to the model server's slots)."""

    queue_timeout: float = 90.0
    """Seconds a reply may wait for a model slot before it fails with Retry offered
    (`ROLEPLAY_QUEUE_TIMEOUT`)."""

    @property
    def embedded(self) -> bool:
        """True when no remote backend is configured and the packaged model is served."""
        return self.base_url is None and self.azure_endpoint is None


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _env_number(name: str, kind: type[int | float]) -> int | float | None:
    raw = _env(name)
    if raw is None:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to e.g. {kind(2)}") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be greater than zero")
    return value


def _features(raw: str) -> Literal["probe"] | frozenset[ServerFeature]:
    if raw.lower() == "probe":
        return "probe"
    names = {name.strip().lower() for name in raw.split(",") if name.strip()} - {"none"}
    unknown = sorted(names - set(SERVER_FEATURES))
    if unknown:
        raise ConfigError(f"ROLEPLAY_SERVER_FEATURES: unknown feature(s) {', '.join(unknown)}; "
                          f"use 'probe', 'none' or a comma-separated list of "
                          f"{', '.join(SERVER_FEATURES)}")
    return frozenset(name for name in SERVER_FEATURES if name in names)


def settings_from_env() -> Settings:
    """Build Settings from the environment (see the README's Configuration table)."""
    values: dict[str, object] = {}
    base_url = _env("ROLEPLAY_BASE_URL")
    azure = _env("AZURE_OPENAI_ENDPOINT")
    values["base_url"] = base_url
    values["azure_endpoint"] = azure
    values["embedding_url"] = _env("ROLEPLAY_EMBEDDING_URL")
    key = _env("ROLEPLAY_API_KEY") or _env("OPENAI_API_KEY")
    if key:
        values["api_key"] = SecretStr(key)
    if _env("AZURE_OPENAI_API_KEY"):
        values["azure_api_key"] = SecretStr(_env("AZURE_OPENAI_API_KEY") or "")
    if _env("OPENAI_API_VERSION"):
        values["azure_api_version"] = _env("OPENAI_API_VERSION")

    remote = base_url is not None or azure is not None
    model = _env("ROLEPLAY_MODEL") or ("gpt-4o-mini" if remote else EMBEDDED_MODEL_NAME)
    values["model"] = model
    values["eval_model"] = _env("ROLEPLAY_EVAL_MODEL") or model

    style = _env("ROLEPLAY_PROMPT_STYLE")
    if style is None:
        # OpenAI and Azure serve chat models only on /chat/completions.
        chat_only = azure is not None or (base_url is not None and "api.openai.com" in base_url)
        style = "chat" if chat_only else "completion"
    if style not in ("completion", "chat"):
        raise ConfigError(f"ROLEPLAY_PROMPT_STYLE={style!r}; use 'completion' or 'chat'")
    values["prompt_style"] = style
    features = _env("ROLEPLAY_SERVER_FEATURES")
    if features is not None:
        values["server_features"] = _features(features)

    paths = {
        "local_model": "ROLEPLAY_LOCAL_MODEL",
        "cache_dir": "ROLEPLAY_CACHE_DIR",
        "db_path": "ROLEPLAY_DB",
        "personas_dir": "ROLEPLAY_PERSONAS_DIR",
        "prompts_dir": "ROLEPLAY_PROMPTS_DIR",
        "evals_dir": "ROLEPLAY_EVALS_DIR",
        "users_file": "ROLEPLAY_USERS",
    }
    for field, name in paths.items():
        if _env(name):
            values[field] = Path(_env(name) or "").expanduser()
    numbers: dict[str, tuple[str, type[int | float]]] = {
        "local_threads": ("ROLEPLAY_LOCAL_THREADS", int),
        "local_ctx": ("ROLEPLAY_LOCAL_CTX", int),
        "local_parallel": ("ROLEPLAY_LOCAL_PARALLEL", int),
        "context_tokens": ("ROLEPLAY_CONTEXT_TOKENS", int),
        "timeout": ("ROLEPLAY_TIMEOUT", float),
        "port": ("ROLEPLAY_PORT", int),
        "concurrency": ("ROLEPLAY_CONCURRENCY", int),
        "queue_timeout": ("ROLEPLAY_QUEUE_TIMEOUT", float),
    }
    for field, (name, kind) in numbers.items():
        number = _env_number(name, kind)
        if number is not None:
            values[field] = number
    if _env("ROLEPLAY_HOST"):
        values["host"] = _env("ROLEPLAY_HOST")
    if _env("ROLEPLAY_DATABASE_URL"):
        values["database_url"] = SecretStr(_env("ROLEPLAY_DATABASE_URL") or "")
    return Settings.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read from the environment on first use."""
    return settings_from_env()
