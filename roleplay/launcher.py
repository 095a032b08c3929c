"""Starts roleplay's own servers as child processes on 127.0.0.1: app processes
(`roleplay serve`) and the model server (`roleplay model-server`), for the load test and the
multi-process tests.

    with AppProcess(env, log_dir / "app-1.log") as app:   # a free port, starting
        app.ready()                                        # returns once it answers
        app.url                                            # http://127.0.0.1:PORT/
        app.cpu_seconds()                                  # user + system CPU so far

Each child gets `env` on top of this process's environment, writes its output to a log
file (read it with `log_text()`), and is stopped with SIGTERM, then SIGKILL, on exit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Self

import httpx

from roleplay.errors import BackendError


def free_port(host: str = "127.0.0.1") -> int:
    """A port on `host` that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc; 0.0 if unknown)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Child:
    """A roleplay command as a child process, ready once `ready_url` answers."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, ready_url: str,
                 what: str, timeout: float = 180.0):
        self.what = what
        self.log = log
        self.ready_url = ready_url
        self.timeout = timeout
        log.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "roleplay", *args], env={**os.environ, **env},
            stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self) -> Self:
        """Wait until the child answers (BackendError with its log if it exits or hangs)."""
        url, timeout = self.ready_url, self.timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise BackendError(f"{self.what} exited ({self.process.returncode}) before it "
                                   f"was ready; its log: {self.log}\n{self.log_text()[-2000:]}",
                                   retryable=False)
            try:
                if httpx.get(url, timeout=2).status_code in (200, 401):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise BackendError(f"{self.what} was not ready within {timeout:.0f} s; its log: "
                           f"{self.log}", retryable=False)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the child so far."""
        return cpu_seconds(self.process.pid)

    def log_text(self) -> str:
        """What the child has written so far."""
        self._out.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._out.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AppProcess(Child):
    """`roleplay serve` on 127.0.0.1 on a free port (or `port`)."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None,
                 timeout: float = 180.0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        super().__init__(["serve", "--host", "127.0.0.1", "--port", str(self.port)], env, log,
                         self.url, f"the app process on port {self.port}", timeout)


class ModelServerProcess(Child):
    """`roleplay model-server` on 127.0.0.1 on a free port (or `port`) with `parallel` slots."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None,
                 parallel: int = 2, timeout: float = 300.0):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        # --no-embedding: port + 1 is not known to be free, and the load test's apps are not
        # pointed at an embedding server (ROLEPLAY_EMBEDDING_URL), so it would sit idle.
        super().__init__(["model-server", "--port", str(self.port), "--parallel", str(parallel),
                          "--no-embedding"], env, log, f"http://127.0.0.1:{self.port}/health",
                         f"the model server on port {self.port}", timeout)


class Deployment:
    """A backend, `apps` app processes on one store, all on 127.0.0.1, for a load test.

    `backend`: "standin" (roleplay.standin in this process: fixed replies, not a model),
    "model-server" (`roleplay model-server` with `parallel` slots), or the /v1 URL of a
    running server. The apps share `env` (the store's settings: ROLEPLAY_DATABASE_URL or
    ROLEPLAY_DB) and each asks the backend for `concurrency` replies at once.
    """

    def __init__(self, backend: str, apps: int, env: dict[str, str], log_dir: Path,
                 parallel: int = 2, concurrency: int = 2, token_delay: float = 0.02):
        from roleplay.config import EMBEDDED_MODEL_NAME
        from roleplay.standin import MODEL_ID, StandInServer

        self.children: list[Child] = []
        self.standin: StandInServer | None = None
        app_env = {**env, "ROLEPLAY_CONCURRENCY": str(concurrency)}
        try:
            if backend == "standin":
                self.standin = StandInServer(token_delay=token_delay)
                app_env |= {"ROLEPLAY_BASE_URL": self.standin.base_url,
                            "ROLEPLAY_MODEL": MODEL_ID, "ROLEPLAY_SERVER_FEATURES": "completions"}
            elif backend == "model-server":
                server = ModelServerProcess(env, log_dir / "model-server.log", parallel=parallel)
                self.children.append(server)
                server.ready()
                app_env |= {"ROLEPLAY_BASE_URL": server.base_url,
                            "ROLEPLAY_MODEL": EMBEDDED_MODEL_NAME}
            else:
                app_env |= {"ROLEPLAY_BASE_URL": backend}
            self.apps = [AppProcess(app_env, log_dir / f"app-{i + 1}.log") for i in range(apps)]
            self.children.extend(self.apps)
            for app in self.apps:  # started together, waited for in turn
                app.ready()
        except BaseException:
            self.stop()
            raise

    @property
    def urls(self) -> list[str]:
        return [app.url for app in self.apps]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of each child, by its name ('app-1', 'model-server')."""
        return {child.log.stem: round(child.cpu_seconds(), 2) for child in self.children}

    def logs(self) -> list[str]:
        """What the app processes have written so far."""
        return [app.log_text() for app in self.apps]

    def stop(self) -> None:
        for child in reversed(getattr(self, "children", [])):
            child.stop()
        if self.standin is not None:
            self.standin.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
