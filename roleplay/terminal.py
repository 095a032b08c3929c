"""The terminal adapter of the conversation engine: `roleplay chat` and `roleplay sessions`.

Like web.py for the browser, this module only turns engine events into text; the commands'
arguments are parsed in cli.py. Errors are RoleplayErrors, which cli.py prints as one line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from roleplay.branching import trainee_number
from roleplay.config import Settings
from roleplay.conversation import (
    ConversationEngine,
    MoodUpdate,
    Reply,
    ReplyEvent,
    Restart,
    Session,
    Token,
)
from roleplay.customer_prompt import speaker_label
from roleplay.errors import BackendError, RoleplayError
from roleplay.limits import line_problem
from roleplay.personas import find_persona, scan_personas
from roleplay.store import SessionInfo, TranscriptStore
from roleplay.transcript import Transcript, Turn

END = "/end"

# A script line that fails this many times in a row (each time after the engine's own
# regenerations) stops the script: the session stays resumable with --resume.
SCRIPT_ATTEMPTS = 2


def turn_row(turn: Turn) -> dict[str, Any]:
    """Return the `chat --json` form of a turn: role, content, rung and reason."""
    return {"role": turn.role, "content": turn.content,
            "rung": turn.rung_after.value if turn.rung_after else None, "reason": turn.reason}


def session_json(session_id: str, persona_id: str | None, transcript: Transcript
                 ) -> dict[str, Any]:
    """Return the `chat --json` document of a session."""
    return {"session_id": session_id, "persona": persona_id,
            "turns": [turn_row(t) for t in transcript.turns]}


def open_session(engine: ConversationEngine, settings: Settings, persona_id: str,
                 resume: str | None, user: str | None, from_turn: int | None = None,
                 branch: int | None = None) -> Session:
    """Start a session with `persona_id`, or resume the stored session `resume` (its
    `branch`, or a new branch that takes the trainee's line number `from_turn` again)."""
    if resume is None:
        if from_turn is not None or branch is not None:
            raise RoleplayError("--from-turn and --branch continue a stored call; give "
                                "--resume SESSION_ID too")
        return engine.start(find_persona(persona_id, settings.personas_dir), user=user)
    info = engine.store.info(resume)
    if info.persona_id != persona_id:
        raise RoleplayError(f"session {resume} is a call with {info.persona_id!r}, not "
                            f"{persona_id!r}; run `roleplay chat {info.persona_id} --resume "
                            f"{resume}`")
    # Only the session's own persona is loaded: a broken draft elsewhere must not stop it.
    personas, _ = scan_personas([settings.personas_dir])
    if persona_id not in personas:
        find_persona(persona_id, settings.personas_dir)  # raises with the file's problems
    if branch is not None:
        engine.store.use_branch(resume, branch)
    if from_turn is not None:
        engine.store.branch(resume, trainee_number(engine.store.load(resume), from_turn))
    return engine.resume(resume, personas)


def read_script(path: Path) -> list[str]:
    """Return the trainee lines of a script file: one per line, blank lines skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        what = ("no such script file" if isinstance(err, FileNotFoundError)
                else f"cannot read the script: {err}")
        raise RoleplayError(f"{path}: {what}; give a UTF-8 text file with one trainee line "
                            "per line") from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        problem = line_problem(line.strip())
        if problem is not None:
            # Checked before the call starts, so a bad line in the script stores nothing.
            raise RoleplayError(f"{path}:{number}: {problem}")
        if line.strip():
            lines.append(line.strip())
    if not lines:
        raise RoleplayError(f"{path}: the script has no lines; write one trainee line per line")
    return lines


class Printer:
    """Writes a session to the terminal as it happens (nothing when `out` is None)."""

    def __init__(self, session: Session, out: TextIO | None):
        self.out = out
        self.label = speaker_label(session.persona)

    def write(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text)
            self.out.flush()

    def turn(self, turn: Turn) -> None:
        """Print a stored turn (the opening line, or the call so far when resuming)."""
        if turn.role == "customer":
            rung = turn.rung_after.value if turn.rung_after else "?"
            self.write(f"{self.label}: {turn.content}\n  [{rung}]\n")
        else:
            self.write(f"You: {turn.content}\n")
            self.mood(turn)

    def mood(self, turn: Turn) -> None:
        rung = turn.rung_after.value if turn.rung_after else "?"
        self.write(f"  [{rung}: {turn.reason}]\n")

    def events(self, events: Iterable[ReplyEvent]) -> Turn:
        """Print the events of one reply as they come; return the saved customer turn."""
        started = False
        for event in events:
            if isinstance(event, MoodUpdate):
                self.mood(event.turn)
            elif isinstance(event, Token):
                if not started:
                    self.write(f"{self.label}: ")
                    started = True
                self.write(event.text)
            elif isinstance(event, Restart):
                # A terminal cannot take back what it printed; say the line is discarded.
                if started:
                    self.write("\n")
                self.write(f"  [out of character ({event.reason}); regenerating]\n")
                started = False
            elif isinstance(event, Reply):
                if not started:
                    self.write(f"{self.label}: {event.turn.content}")
                self.write("\n")
                return event.turn
        raise RoleplayError("the reply ended without being saved; retry")


def _script(engine: ConversationEngine, session: Session, lines: list[str],
            printer: Printer) -> None:
    if session.transcript.awaiting_reply:
        _until_answered(engine, session, printer, engine.retry(session))
    for line in lines:
        printer.write(f"You: {line}\n")
        _until_answered(engine, session, printer, engine.stream(session, line))


def _until_answered(engine: ConversationEngine, session: Session, printer: Printer,
                    events: Iterator[ReplyEvent]) -> None:
    for tries in range(SCRIPT_ATTEMPTS):
        try:
            printer.events(events)
            return
        except BackendError as err:
            if not err.retryable or tries == SCRIPT_ATTEMPTS - 1:
                raise BackendError(f"{err}; the turn is saved: continue with `roleplay chat "
                                   f"{session.persona.id} --resume {session.session_id}`",
                                   retryable=err.retryable) from err
            print(f"warning: {err}; retrying", file=sys.stderr)
            events = engine.retry(session)


def _interactive(engine: ConversationEngine, session: Session, printer: Printer,
                 read: Callable[[str], str]) -> None:
    printer.write(f"(type {END} to finish the call)\n")
    while True:
        if session.transcript.awaiting_reply:
            answer = read("The customer has not answered yet. Retry? [Y/n] ").strip().lower()
            if answer in ("", "y", "yes"):
                _try(printer, engine.retry(session))
                continue
        try:
            line = read("You: ").strip()
        except EOFError:
            printer.write("\n")
            return
        if line == END:
            return
        problem = line_problem(line)
        if problem is not None:
            print(problem, file=sys.stderr)  # nothing was stored; the call goes on
        elif line:
            _try(printer, engine.stream(session, line))


def _try(printer: Printer, events: Iterator[ReplyEvent]) -> None:
    try:
        printer.events(events)
    except BackendError as err:
        printer.write(f"\nerror: {err}\n")
        if not err.retryable:
            raise


def run_chat(engine: ConversationEngine, settings: Settings, persona_id: str,
             script: Path | None, as_json: bool, resume: str | None, user: str | None,
             read: Callable[[str], str] = input, from_turn: int | None = None,
             branch: int | None = None) -> int:
    """Run `roleplay chat`; return the exit code."""
    lines = read_script(script) if script is not None else None
    session = open_session(engine, settings, persona_id, resume, user, from_turn, branch)
    printer = Printer(session, None if as_json else sys.stdout)
    if not as_json:
        printer.write(f"session {session.session_id} · {session.persona.title}\n")
    for turn in session.transcript.turns:
        printer.turn(turn)
    try:
        if lines is not None:
            _script(engine, session, lines, printer)
        else:
            _interactive(engine, session, printer, read)
    finally:
        if as_json:
            doc = session_json(session.session_id, session.persona.id, session.transcript)
            print(json.dumps(doc, ensure_ascii=False, indent=2))
    if not session.transcript.awaiting_reply:
        engine.store.end_session(session.session_id)
    return 0


# --- sessions --------------------------------------------------------------------------

def _info_row(info: SessionInfo) -> dict[str, Any]:
    return info.model_dump(mode="json")


def run_sessions_list(store: TranscriptStore, user: str | None, as_json: bool) -> int:
    """Print the stored sessions, newest first."""
    sessions = store.list_sessions(user=user)
    if as_json:
        print(json.dumps([_info_row(s) for s in sessions], ensure_ascii=False, indent=2))
        return 0
    if not sessions:
        print("no sessions yet; start one with `roleplay chat PERSONA_ID`", file=sys.stderr)
        return 0
    for s in sessions:
        state = "ended" if s.ended_at else "open"
        score = f"{s.score:.1f}" if s.score is not None else "-"
        print(f"{s.session_id}  {s.started_at:%Y-%m-%d %H:%M}  {s.persona_id:<24}  "
              f"{s.user or '-':<10}  {s.turns:>3} turns  {state:<5}  score {score}")
    return 0


def run_sessions_show(store: TranscriptStore, session_id: str, as_json: bool) -> int:
    """Print one session's turns with their rungs and reasons."""
    info = store.info(session_id)
    transcript = store.load(session_id)
    if as_json:
        doc = {**_info_row(info), "persona": info.persona_id,
               "turns": [{**turn_row(t),
                          "rung_before": t.rung_before.value if t.rung_before else None,
                          "created_at": t.created_at.isoformat(), "model": t.model}
                         for t in transcript.turns]}
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    print(f"session {info.session_id} · {info.persona_id} · user {info.user or '-'} · "
          f"started {info.started_at:%Y-%m-%d %H:%M} · "
          f"{'ended' if info.ended_at else 'not ended'}")
    for turn in transcript.turns:
        who = "customer" if turn.role == "customer" else "trainee "
        rung = turn.rung_after.value if turn.rung_after else "?"
        print(f"{who}  {turn.content}")
        if turn.role == "trainee":
            print(f"          [{turn.rung_before.value if turn.rung_before else '?'} -> {rung}: "
                  f"{turn.reason}]")
    if transcript.awaiting_reply:
        print(f"(the last line has no reply yet: `roleplay chat {info.persona_id} --resume "
              f"{info.session_id}`)")
    return 0
