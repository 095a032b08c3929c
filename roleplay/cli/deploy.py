"""Commands for a deployment of many trainees: the shared model server, the stand-in
backend, and the load test."""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from roleplay.config import Settings

# --- model-server ----------------------------------------------------------------------

def cmd_model_server(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the embedded model to other processes (OpenAI protocol) until interrupted, and
    its embeddings for the appraisal's classifier unless --no-embedding."""
    from roleplay.appraisal import shipped_recipe
    from roleplay.config import EMBEDDED_MODEL_NAME
    from roleplay.embedded import EmbeddedServer, check_port_free
    from roleplay.embedding import EmbeddingServer
    from roleplay.errors import ConfigError

    if not _loopback(args.host) and settings.api_key is None:
        print(f"warning: {args.host} is reachable from other machines and the server has no "
              "key: set ROLEPLAY_API_KEY (the apps send the same one)", file=sys.stderr)
    embedding_port = None if args.no_embedding else args.embedding_port or args.port + 1
    if embedding_port is not None:
        if embedding_port in (args.port, 65536):
            raise ConfigError(f"--embedding-port {embedding_port}: pick a free port other "
                              "than --port (or --no-embedding)")
        check_port_free(args.host, args.port)  # both said before either model loads
        check_port_free(args.host, embedding_port)
    server = EmbeddedServer(settings, host=args.host, port=args.port, parallel=args.parallel,
                            what="the model server")
    url = f"http://{args.host}:{args.port}/v1"
    print(f"serving {server.model_path.name} at {url} ({server.slots} slots of "
          f"{settings.local_ctx} tokens, {settings.local_threads} threads)", file=sys.stderr)
    env = f"ROLEPLAY_BASE_URL={url} ROLEPLAY_MODEL={EMBEDDED_MODEL_NAME}"
    embedder = None
    if embedding_port is not None:
        # The pooling of the recipe the shipped appraisal classifier records: a client cannot
        # ask a server its pooling, so the server serves the one the classifier needs.
        pooling = shipped_recipe().pooling
        embedder = EmbeddingServer(settings, pooling, host=args.host, port=embedding_port,
                                   what="the model server's embedding server")
        embedding_url = f"http://{args.host}:{embedding_port}/v1"
        print(f"serving its embeddings ({pooling} pooling) at {embedding_url}",
              file=sys.stderr)
        env += f" ROLEPLAY_EMBEDDING_URL={embedding_url}"
    print(f"point the apps at it: {env}", file=sys.stderr)
    _serve_forever()
    if embedder is not None:
        embedder.stop()
    server.stop()
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve_forever() -> None:
    # The servers run in their own threads; this one only waits for Ctrl-C (main's
    # KeyboardInterrupt handler prints "interrupted").
    threading.Event().wait()

# --- stand-in --------------------------------------------------------------------------

def cmd_stand_in(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the stand-in backend (fixed replies, not a model) until interrupted."""
    from roleplay.embedded import check_port_free
    from roleplay.standin import StandInServer

    check_port_free(args.host, args.port)
    server = StandInServer(token_delay=args.token_delay, host=args.host, port=args.port)
    print(f"stand-in backend (fixed replies, NOT a model: for load tests only) at "
          f"{server.base_url}", file=sys.stderr)
    _serve_forever()
    server.stop()
    return 0

# --- loadtest --------------------------------------------------------------------------

def cmd_loadtest(args: argparse.Namespace, settings: Settings) -> int:
    """Run the load test per N and print the table; write the JSON report."""
    import json
    import os
    import resource
    import time
    from pathlib import Path

    from roleplay.loadtest import check_loopback, run_level, summary

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = {}
    if settings.database_url is None:
        # A store of its own: the load test never writes into the trainees' database.
        env["ROLEPLAY_DB"] = str(out / f"loadtest-{int(time.time())}.sqlite3")
        settings = settings.model_copy(update={"db_path": Path(env["ROLEPLAY_DB"])})
    if args.url:
        for url in args.url:
            check_loopback(url)
    elif args.backend not in ("standin", "model-server"):
        check_loopback(args.backend)
    load_before = os.getloadavg()
    with _deployment(args, env, out) as deployment:
        from roleplay.store import open_store

        store = open_store(settings)
        urls = args.url or deployment.urls
        levels = []
        for n in args.trainees:
            print(f"N = {n}: {n} trainees x {args.lines} lines on {len(urls)} app "
                  "process(es)…", file=sys.stderr)
            levels.append(run_level(urls, n, args.lines, store, args.persona, args.deadline,
                                    deployment.logs))
        cpu = deployment.cpu_seconds()
    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu["loadtest (and the stand-in)"] = round(own.ru_utime + own.ru_stime, 2)
    report = {"backend": args.backend if not args.url else "the apps at " + ", ".join(urls),
              "stand_in": args.backend == "standin" and not args.url,
              "apps": len(urls), "store": "postgresql" if settings.database_url else "sqlite",
              "levels": [lv.model_dump() for lv in levels], "cpu_seconds": cpu,
              "load_average_before": load_before, "load_average_after": os.getloadavg()}
    path = out / "loadtest.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(summary(levels))
    print(f"CPU s: {cpu}; load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    if report["stand_in"]:
        print("backend: the stand-in (fixed replies, not a model): the app's and the "
              "database's figures only")
    print(f"report: {path}")
    return 1 if any(lv.errors or lv.lost_turns or lv.misplaced_turns for lv in levels) else 0


def _deployment(args: argparse.Namespace, env: dict[str, str], out: Path) -> Any:
    from contextlib import nullcontext

    from roleplay.launcher import Deployment

    if args.url:
        return nullcontext(_Existing())
    return Deployment(args.backend, args.apps, env, out / "logs", parallel=args.parallel,
                      concurrency=args.concurrency, token_delay=args.token_delay)


class _Existing:
    """Apps started by someone else: no logs or CPU of theirs to read."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def logs(self) -> list[str]:
        return []

    def cpu_seconds(self) -> dict[str, float]:
        return {}

# --- parser -----------------------------------------------------------------------------

def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `roleplay` parser."""
    p = sub.add_parser("model-server",
                       help="serve the embedded model to several app processes (OpenAI API)")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    p.add_argument("--port", type=_port, default=8080, help="default 8080")
    p.add_argument("--parallel", type=_positive, metavar="N",
                   help="requests served at once (default ROLEPLAY_LOCAL_PARALLEL or 2)")
    p.add_argument("--embedding-port", type=_port, metavar="P",
                   help="port of the embedding server for the appraisal (default --port + 1)")
    p.add_argument("--no-embedding", action="store_true",
                   help="serve no embeddings (the apps' appraisal then uses the phrase lists)")
    p.set_defaults(handler=cmd_model_server)

    p = sub.add_parser("stand-in",
                       help="serve the stand-in backend: fixed fast replies, not a model")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8090, help="default 8090")
    p.add_argument("--token-delay", type=float, default=0.02, metavar="S",
                   help="seconds per streamed token (default 0.02)")
    p.set_defaults(handler=cmd_stand_in)

    p = sub.add_parser("loadtest", help="N simulated trainees at once through the web API")
    p.add_argument("--trainees", type=_counts, default=[1, 2, 4], metavar="N,N,...",
                   help="trainees at once, one level each (default 1,2,4)")
    p.add_argument("--lines", type=_positive, default=5, help="lines per trainee (default 5)")
    p.add_argument("--backend", default="standin",
                   help="standin (default: fixed replies, not a model), model-server (starts "
                        "`roleplay model-server`), or the /v1 URL of a running server")
    p.add_argument("--apps", type=_positive, default=2, help="app processes started (default 2)")
    p.add_argument("--url", action="append", help="use this running app instead (repeatable)")
    p.add_argument("--parallel", type=_positive, default=2, help="model-server slots")
    p.add_argument("--concurrency", type=_positive, default=2,
                   help="replies each app asks for at once (ROLEPLAY_CONCURRENCY, default 2)")
    p.add_argument("--token-delay", type=float, default=0.02, help="stand-in s per token")
    p.add_argument("--persona", default="crm-outage")
    p.add_argument("--deadline", type=float, default=600.0, metavar="S",
                   help="no line is sent after S seconds of a level (default 600)")
    p.add_argument("--out", default="loadtest-report", help="directory of the JSON and logs")
    p.set_defaults(handler=cmd_loadtest)


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} must be at least 1")
    return value


def _counts(raw: str) -> list[int]:
    return [_positive(part) for part in raw.split(",") if part.strip()]


def _port(raw: str) -> int:
    value = _positive(raw)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{raw} is not a port (1-65535)")
    return value
