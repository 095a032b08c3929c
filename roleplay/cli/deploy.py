"""Commands for a deployment of many trainees: the shared model server, the stand-in
backend, and the load test."""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roleplay.config import Settings

# --- model-server ----------------------------------------------------------------------

def cmd_model_server(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the embedded model to other processes (OpenAI protocol) until interrupted."""
    from roleplay.config import EMBEDDED_MODEL_NAME
    from roleplay.embedded import EmbeddedServer

    if not _loopback(args.host) and settings.api_key is None:
        print(f"warning: {args.host} is reachable from other machines and the server has no "
              "key: set ROLEPLAY_API_KEY (the apps send the same one)", file=sys.stderr)
    server = EmbeddedServer(settings, host=args.host, port=args.port, parallel=args.parallel,
                            what="the model server")
    url = f"http://{args.host}:{args.port}/v1"
    print(f"serving {server.model_path.name} at {url} ({server.slots} slots of "
          f"{settings.local_ctx} tokens, {settings.local_threads} threads)", file=sys.stderr)
    print(f"point the apps at it: ROLEPLAY_BASE_URL={url} ROLEPLAY_MODEL={EMBEDDED_MODEL_NAME}",
          file=sys.stderr)
    _serve_forever()
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

# --- parser -----------------------------------------------------------------------------

def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `roleplay` parser."""
    p = sub.add_parser("model-server",
                       help="serve the embedded model to several app processes (OpenAI API)")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    p.add_argument("--port", type=_port, default=8080, help="default 8080")
    p.add_argument("--parallel", type=_positive, metavar="N",
                   help="requests served at once (default ROLEPLAY_LOCAL_PARALLEL or 2)")
    p.set_defaults(handler=cmd_model_server)

    p = sub.add_parser("stand-in",
                       help="serve the stand-in backend: fixed fast replies, not a model")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8090, help="default 8090")
    p.add_argument("--token-delay", type=float, default=0.02, metavar="S",
                   help="seconds per streamed token (default 0.02)")
    p.set_defaults(handler=cmd_stand_in)


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} must be at least 1")
    return value


def _port(raw: str) -> int:
    value = _positive(raw)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{raw} is not a port (1-65535)")
    return value
