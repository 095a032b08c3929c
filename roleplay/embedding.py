"""Sentence embeddings of trainee lines, from the same GGUF model that plays the customer.

The appraisal's model layer (`roleplay.appraisal`) classifies these vectors. They come from
a second, small llama.cpp server in embedding mode on 127.0.0.1, started on the same GGUF file
as the customer's server (`roleplay.embedded.model_file`): the file is memory-mapped, so its
pages are shared and the second server costs only its own small context. A separate server
keeps the customer's server exactly as it is (llama.cpp builds a context with embeddings on
differently, and some versions refuse completions on it).

    EmbeddingClient (protocol): embed(texts) -> one vector per text, shape (n, dim)
      HttpEmbeddingClient: POST {base_url}/embeddings, the OpenAI protocol
    EmbeddingServer: the in-process embedding server; embedding_client(settings) starts one
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np

from roleplay.config import Settings
from roleplay.errors import BackendError

EMBEDDING_CTX = 2048
"""Context of the embedding server, in tokens: a batch of trainee lines, never a whole call."""

# A line longer than this is cut before it is embedded: the server refuses inputs longer
# than its context, and the first part of a very long line carries its moves anyway.
MAX_CHARS = 1200

BATCH = 16
"""Lines sent in one embeddings request."""


class EmbeddingClient(Protocol):
    """Turns texts into vectors; `model_id` names the model, so a classifier can check it."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class HttpEmbeddingClient:
    """Embeddings from an OpenAI-compatible `/v1/embeddings` endpoint (llama.cpp serves one)."""

    def __init__(self, base_url: str, model_id: str, timeout: float = 30.0,
                 http_client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.model_id = model_id
        self._http = http_client or httpx.Client(timeout=timeout)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one L2-normalised vector per text, shape (len(texts), dim)."""
        vectors: list[list[float]] = []
        # Several lines per request: on the loaded 2-core machine 16 lines took 21.6 s in
        # one request and 86.5 s one by one, with the same vectors (cosine 1.0).
        for i in range(0, len(texts), BATCH):
            vectors.extend(self._batch([t[:MAX_CHARS] or " " for t in texts[i:i + BATCH]]))
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
    """llama.cpp's server in embedding mode (mean pooling), inside this process."""

    def __init__(self, settings: Settings):
        import xllamacpp

        from roleplay.embedded import LlamaServer, local_params, model_file

        path = model_file(settings)
        params = local_params(path, settings)
        params.n_parallel = 1
        params.n_ctx = EMBEDDING_CTX
        params.embedding = True
        # Mean pooling: a causal model's last token mostly predicts the next word; the mean
        # over the line's tokens carries what the whole line says.
        params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
        self._server = LlamaServer(params, "the embedding server", settings.timeout)
        self.base_url = self._server.base_url
        self.model_path = path
        self.model_id = model_id_of(path)

    def stop(self) -> None:
        """Stop serving; the object is unusable afterwards."""
        self._server.stop()


_started: list[EmbeddingServer] = []
"""The process's one embedding server, once started (a list, so no `global` is needed)."""
_lock = threading.Lock()


def embedding_client(settings: Settings) -> HttpEmbeddingClient:
    """Start the process's one embedding server if needed and return a client of it."""
    with _lock:
        if not _started:
            _started.append(EmbeddingServer(settings))
            atexit.register(stop_embedding_server)
        server = _started[0]
    return HttpEmbeddingClient(server.base_url, server.model_id, timeout=settings.timeout)


def stop_embedding_server() -> None:
    """Stop the embedding server if this process started one."""
    with _lock:
        while _started:
            _started.pop().stop()
