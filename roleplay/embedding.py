"""Sentence embeddings of trainee lines, from the same GGUF model that plays the customer.

The appraisal's model layer (`roleplay.appraisal`) classifies these vectors. They come from
a second, small llama.cpp server in embedding mode on 127.0.0.1, started on the same GGUF file
as the customer's server (`roleplay.embedded.model_file`): the file is memory-mapped, so its
pages are shared and the second server costs only its own small context. A separate server
keeps the customer's server exactly as it is (llama.cpp builds a context with embeddings on
differently, and some versions refuse completions on it).

    Recipe: how a line becomes a vector (the pooling, and a prompt the line is wrapped in)
    EmbeddingClient (protocol): embed(texts) -> one vector per text, shape (n, dim)
      HttpEmbeddingClient: POST {base_url}/embeddings, the OpenAI protocol
    EmbeddingServer: the in-process embedding server; embedding_client(settings, recipe)
      starts one per pooling; `roleplay model-server` serves one to other processes
    remote_embedding_client(settings, recipe): a client of ROLEPLAY_EMBEDDING_URL, named by
      the model id that server reports
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from roleplay.config import Settings
from roleplay.errors import BackendError

EMBEDDING_CTX = 2048
"""Context of the embedding server, in tokens: a batch of trainee lines, never a whole call."""

# A line longer than this is cut before it is embedded: the server refuses inputs longer
# than its context, and the first part of a very long line carries its moves anyway.
MAX_CHARS = 1200

BATCH = 16
"""Lines sent in one embeddings request."""


LINE = "{line}"
"""Where a recipe's template puts the trainee's line."""


class Recipe(BaseModel):
    """How a line becomes a vector: a classifier is only valid on the recipe it was trained on.

    `pooling` "mean" averages the hidden states of every token; "last" takes the last token's,
    which after a prompt ending in 'in one word:"' is trained to sum up what came before
    ("PromptEOL", from work on sentence embeddings from decoder models).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pooling: Literal["mean", "last"]
    template: str = LINE
    """The text embedded; LINE marks the line (replaced literally: lines may hold braces)."""

    @field_validator("template")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if value.count(LINE) != 1:
            raise ValueError(f"a recipe's template needs {LINE} exactly once")
        return value

    def wrap(self, line: str) -> str:
        """Return the text to embed for `line`."""
        return self.template.replace(LINE, line)

    @property
    def key(self) -> str:
        """A short stable name of the recipe, for cache keys and log lines."""
        if self == MEAN:
            return "mean"
        return f"{self.pooling}-{hashlib.sha256(self.template.encode()).hexdigest()[:8]}"


MEAN = Recipe(pooling="mean")
"""The line alone, mean-pooled: what the first classifier was trained on."""

RECIPES: dict[str, Recipe] = {
    "mean": MEAN,
    # Kept short: every token of the prompt is paid for on every turn (the embedding server
    # reprocesses the whole input; it reuses no prefix for pooled embeddings).
    "eol": Recipe(pooling="last", template='This is what a customer-service agent typed to an '
                                          f'upset customer: "{LINE}"\nIn one word, what the '
                                          'agent did:"'),
    # The original PromptEOL prompt: 11 tokens around the line instead of 27, so it costs
    # 1.4 times `mean` per line rather than 1.9 (16 dev lines one by one on an idle 2-core
    # machine: 0.50 s wall against 0.36 s for mean and 0.69 s for eol).
    "short-eol": Recipe(pooling="last",
                        template=f'This sentence: "{LINE}" means in one word:"'),
}
"""The recipes `roleplay appraise train --recipe` knows, by name."""


class EmbeddingClient(Protocol):
    """Turns texts into vectors; `model_id` names the model and `recipe` how lines are
    embedded, so a classifier can check both."""

    model_id: str
    recipe: Recipe

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class HttpEmbeddingClient:
    """Embeddings from an OpenAI-compatible `/v1/embeddings` endpoint (llama.cpp serves one)."""

    def __init__(self, base_url: str, model_id: str, timeout: float = 30.0,
                 http_client: httpx.Client | None = None, recipe: Recipe = MEAN,
                 api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.model_id = model_id
        self.recipe = recipe
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = http_client or httpx.Client(timeout=timeout, headers=headers)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one L2-normalised vector per text, shape (len(texts), dim)."""
        vectors: list[list[float]] = []
        # Several lines per request: on the loaded 2-core machine 16 lines took 21.6 s in
        # one request and 86.5 s one by one, with the same vectors (cosine 1.0).
        for i in range(0, len(texts), BATCH):
            vectors.extend(self._batch([self.recipe.wrap(t[:MAX_CHARS] or " ")
                                        for t in texts[i:i + BATCH]]))
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

    def _batch(self, texts: list[str]) -> list[list[float]]:
        try:
            response = self._http.post(f"{self.base_url}/embeddings",
                                       json={"input": texts, "model": self.model_id})
            response.raise_for_status()
            data: Any = response.json()
            rows = sorted(data["data"], key=lambda row: row.get("index", 0))
            vectors = [list(row["embedding"]) for row in rows]
        except httpx.HTTPError as err:
            raise BackendError(f"the embedding server at {self.base_url} failed: {err}") from err
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            raise BackendError(f"the embedding server at {self.base_url} answered without an "
                               f"embedding ({type(err).__name__}: {err})") from err
        if len(vectors) != len(texts):
            raise BackendError(f"the embedding server at {self.base_url} returned "
                               f"{len(vectors)} embeddings for {len(texts)} lines")
        return vectors


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, reading it in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def model_id_of(path: Path) -> str:
    """Return the id a classifier records for the embeddings of `path`: its SHA-256.

    The packaged model's hash is known (checked when it was joined); another GGUF is hashed.
    """
    from roleplay.embedded import MODEL_FILE, MODEL_SHA256

    return MODEL_SHA256 if path.name == MODEL_FILE else file_sha256(path)


class EmbeddingServer:
    """llama.cpp's server in embedding mode (mean or last-token pooling), inside this process."""

    def __init__(self, settings: Settings, pooling: str = "mean", host: str = "127.0.0.1",
                 port: int = 0, what: str = "the embedding server"):
        import xllamacpp

        from roleplay.embedded import LlamaServer, check_port_free, local_params, model_file

        if port:
            check_port_free(host, port)
        path = model_file(settings)
        params = local_params(path, settings)
        params.hostnames = [host]
        params.port = port
        self.model_id = model_id_of(path)
        # Served under the id a classifier records, so a client in another process can check
        # it is the model the classifier was trained on (GET /v1/models).
        params.model_alias = {self.model_id}
        if settings.api_key is not None:
            params.api_keys = [settings.api_key.get_secret_value()]
        params.n_parallel = 1
        params.n_ctx = EMBEDDING_CTX
        params.embedding = True
        # Mean pooling for a bare line: a causal model's last token mostly predicts the next
        # word, the mean over the line's tokens carries what the whole line says. Last-token
        # pooling only for a recipe whose prompt asks the model to sum the line up.
        kinds = xllamacpp.llama_pooling_type
        params.pooling_type = (kinds.LLAMA_POOLING_TYPE_LAST if pooling == "last"
                               else kinds.LLAMA_POOLING_TYPE_MEAN)
        self.pooling = pooling
        self._server = LlamaServer(params, what, settings.timeout)
        self.base_url = self._server.base_url
        self.model_path = path

    def stop(self) -> None:
        """Stop serving; the object is unusable afterwards."""
        self._server.stop()


_started: list[EmbeddingServer] = []
"""The process's embedding servers, one per pooling, once started (a list: no `global`)."""
_lock = threading.Lock()


def embedding_client(settings: Settings, recipe: Recipe = MEAN) -> HttpEmbeddingClient:
    """Start the process's embedding server for `recipe`'s pooling if needed and return a
    client that embeds lines by `recipe`."""
    with _lock:
        servers = [s for s in _started if s.pooling == recipe.pooling]
        if not servers:
            if not _started:
                atexit.register(stop_embedding_server)
            servers = [EmbeddingServer(settings, recipe.pooling)]
            _started.extend(servers)
        server = servers[0]
    return HttpEmbeddingClient(server.base_url, server.model_id, timeout=settings.timeout,
                               recipe=recipe)


def remote_embedding_client(settings: Settings, recipe: Recipe = MEAN,
                            http_client: httpx.Client | None = None) -> HttpEmbeddingClient:
    """Return a client of the embedding server at `settings.embedding_url`, named by the model
    id it reports (GET /models: the SHA-256 if it is `roleplay model-server`'s, see
    `model_id_of`); BackendError if it cannot be asked.

    The server's pooling cannot be asked: `roleplay model-server` serves the pooling of the
    recipe the shipped classifier records (`roleplay.appraisal.shipped_recipe`).
    """
    url = (settings.embedding_url or "").rstrip("/")
    key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    http = http_client or httpx.Client(
        timeout=settings.timeout, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        response = http.get(f"{url}/models")
        response.raise_for_status()
        rows: Any = response.json()["data"]
        ids = [str(name) for row in rows for name in [row["id"], *row.get("aliases", [])]]
    except httpx.HTTPError as err:
        raise BackendError(f"the embedding server at {url} cannot be reached: {err}") from err
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise BackendError(f"the embedding server at {url} did not say which model it serves "
                           f"({type(err).__name__}: {err})") from err
    if not ids:
        raise BackendError(f"the embedding server at {url} serves no model")
    # A hash-named id is the one a classifier can be checked against; else the first name.
    hashed = [name for name in ids if len(name) == 64 and all(c in "0123456789abcdef"
                                                                for c in name)]
    return HttpEmbeddingClient(url, (hashed or ids)[0], timeout=settings.timeout,
                               http_client=http, recipe=recipe)


def stop_embedding_server() -> None:
    """Stop the embedding servers this process started."""
    with _lock:
        while _started:
            _started.pop().stop()
