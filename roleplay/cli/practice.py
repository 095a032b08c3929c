"""Commands around a call: serve the web app, manage its users, chat in the terminal, list stored sessions, upgrade the database."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from roleplay.cli.coaching import add_export
from roleplay.errors import RoleplayError

if TYPE_CHECKING:

    from roleplay.config import Settings

# --- serve -----------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the web app until interrupted (the embedded model unless a backend is set)."""
    from roleplay.web.app import app_from_settings, launch_app

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=overrides)
    where = settings.base_url or settings.azure_endpoint or "the embedded model"
    print(f"starting roleplay on {where}…", file=sys.stderr)
    demo, users = app_from_settings(settings)
    login = f"login on, {len(users)} users" if users else "login off (set ROLEPLAY_USERS)"
    print(f"serving http://{settings.host}:{settings.port} ({login})", file=sys.stderr)
    launch_app(demo, settings, users, block=True)
    return 0

# --- users -----------------------------------------------------------------------------

def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """Add a user or set a password in the users file; the password is stored as its hash."""
    from pathlib import Path

    from roleplay.users import add_user, read_new_password, set_password

    path = Path(args.file) if args.file else settings.users_file
    if path is None:
        raise RoleplayError("no users file: give --file FILE or set ROLEPLAY_USERS")
    password = read_new_password(args.name, args.password_stdin)
    if args.users_command == "add":
        add_user(path, args.name, args.role, password)
    else:
        set_password(path, args.name, password)
    print(f"{args.name}: password hash written to {path}", file=sys.stderr)
    return 0

# --- chat ------------------------------------------------------------------------------

def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """Talk to a persona: interactive, or the trainee lines of --script; --json prints the call."""
    from pathlib import Path

    from roleplay.conversation import ConversationEngine
    from roleplay.terminal import run_chat

    engine = ConversationEngine.from_settings(settings)
    return run_chat(engine, settings, args.persona_id, Path(args.script) if args.script else None,
                    args.json, args.resume, args.user, from_turn=args.from_turn,
                    branch=args.branch)

# --- sessions --------------------------------------------------------------------------

def cmd_sessions_list(args: argparse.Namespace, settings: Settings) -> int:
    """List stored sessions, newest first (only --user's when given)."""
    from roleplay.store import open_store
    from roleplay.terminal import run_sessions_list

    return run_sessions_list(open_store(settings), args.user, args.json)


def cmd_sessions_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print one stored session's turns with rungs and reasons."""
    from roleplay.store import open_store
    from roleplay.terminal import run_sessions_show
    from roleplay.terminal_branches import run_branches

    if args.branches:
        return run_branches(open_store(settings), args.session_id, args.json)
    return run_sessions_show(open_store(settings), args.session_id, args.json)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Play a report's advice item from its turn, in a branch, and print both mood paths."""
    from roleplay.conversation import ConversationEngine
    from roleplay.personas import scan_personas
    from roleplay.store import open_store
    from roleplay.terminal_branches import run_replay

    store = open_store(settings)
    store.info(args.session_id)  # a wrong id is said before any model is started
    personas, _ = scan_personas([settings.personas_dir])
    return run_replay(ConversationEngine.from_settings(settings, store=store), store,
                      args.session_id, args.advice, personas, args.json)

# --- db --------------------------------------------------------------------------------

def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade the database's schema to this version's, or say which version it has."""
    from roleplay.store import database_url, migrate

    where, revision, newest = migrate.run(database_url(settings),
                                          apply=args.db_command == "upgrade")
    print(f"{where}: schema {revision or 'none (empty, or the first release)'}"
          f"{'' if revision == newest else f'; this version needs {newest}: roleplay db upgrade'}")
    return 0 if revision == newest else 1


# --- parser -----------------------------------------------------------------------------

def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `roleplay` parser."""
    p = sub.add_parser("serve", help="start the web app (embedded model unless configured)")
    p.add_argument("--host", help="default ROLEPLAY_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, help="default ROLEPLAY_PORT or 7860")
    p.set_defaults(handler=cmd_serve)

    users = sub.add_parser("users", help="add web users and set their passwords (hashed)")
    usub = users.add_subparsers(dest="users_command", required=True)
    for name, text in (("add", "add a user"), ("passwd", "set a user's password")):
        p = usub.add_parser(name, help=text)
        p.add_argument("name")
        if name == "add":
            p.add_argument("--role", choices=["trainee", "trainer"], default="trainee")
        p.add_argument("--file", metavar="FILE", help="default ROLEPLAY_USERS")
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin")
        p.set_defaults(handler=cmd_users)

    p = sub.add_parser("chat", help="talk to a persona in the terminal")
    p.add_argument("persona_id")
    p.add_argument("--script", metavar="FILE", help="trainee lines, one per line")
    p.add_argument("--json", action="store_true", help="print the session as JSON")
    p.add_argument("--resume", metavar="SESSION_ID", help="continue a stored session")
    p.add_argument("--user", help="trainee name stored with the session")
    p.add_argument("--from-turn", type=int, metavar="N",
                   help="with --resume: take your line N again (count from 1) in a new "
                   "branch; the call as it was stays stored")
    p.add_argument("--branch", type=int, metavar="B",
                   help="with --resume: continue branch B (`sessions show ID --branches`)")
    p.set_defaults(handler=cmd_chat)

    p = sub.add_parser("replay", help="play a report's advice from its turn; both mood paths")
    p.add_argument("session_id")
    p.add_argument("--advice", type=int, metavar="K", required=True,
                   help="the report's K-th \"do this instead\" item (count from 1)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_replay)

    db = sub.add_parser("db", help="the database's schema (ROLEPLAY_DATABASE_URL or ROLEPLAY_DB)")
    dsub = db.add_subparsers(dest="db_command", required=True)
    for name, text in (("upgrade", "apply the migrations this version ships"),
                       ("current", "print the schema revision; exit 1 if an upgrade is due")):
        dsub.add_parser(name, help=text).set_defaults(handler=cmd_db)

    sessions = sub.add_parser("sessions", help="stored sessions")
    ssub = sessions.add_subparsers(dest="sessions_command", required=True)
    p = ssub.add_parser("list", help="list sessions, newest first")
    p.add_argument("--user")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sessions_list)
    p = ssub.add_parser("show", help="print one session's turns")
    p.add_argument("session_id")
    p.add_argument("--json", action="store_true")
    p.add_argument("--branches", action="store_true",
                   help="list the call's branches: where each starts, mood path, score")
    p.set_defaults(handler=cmd_sessions_show)
    add_export(ssub)  # sessions export --reviewed (roleplay.cli.coaching)
