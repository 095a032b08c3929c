"""The terminal adapter of branching: `sessions show --branches` and `roleplay replay`.

Like roleplay.terminal, this module only turns results into text; the commands' arguments
are parsed in roleplay.cli.practice.
"""

from __future__ import annotations

import json
from typing import Any

from roleplay.branching import MoodPath, Replay, replay_advice
from roleplay.conversation import ConversationEngine
from roleplay.errors import RoleplayError
from roleplay.personas import Persona
from roleplay.store import TranscriptStore


def run_branches(store: TranscriptStore, session_id: str, as_json: bool) -> int:
    """Print every branch of a call: where it starts, its mood path, its score."""
    found = store.branches(session_id)
    if as_json:
        doc = [{**b.model_dump(mode="json"),
                "mood_path": [r.value for r in store.load(session_id, b.branch).mood_path()]}
               for b in found]
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    info = store.info(session_id)
    print(f"session {session_id} · {info.persona_id} · {len(found)} branch(es)")
    for b in found:
        transcript = store.load(session_id, b.branch)
        where = ("the call as first played" if b.from_turn is None else
                 f"{b.origin} of branch {b.parent_branch} from turn {b.from_turn}")
        score = f"score {b.score:.1f}" if b.score is not None else "not scored"
        mark = "  (being played)" if b.current else ""
        print(f"branch {b.branch}: {where} · {b.turns} turns · {score}{mark}")
        print(f"    mood: {' → '.join(r.value for r in transcript.mood_path()) or '-'}")
        if b.from_turn is not None and b.from_turn < len(transcript.turns):
            print(f"    from: {transcript.turns[b.from_turn].content}")
    return 0


def _path_rows(path: MoodPath) -> list[dict[str, Any]]:
    return [step.model_dump(mode="json") for step in path.steps]


def print_replay(replay: Replay, persona_id: str, as_json: bool) -> None:
    """Both mood paths side by side, the customer's replies, and what the replay showed."""
    if as_json:
        print(json.dumps({**replay.model_dump(mode="json", exclude={"original", "rewrite"}),
                          "original": _path_rows(replay.original),
                          "rewrite": _path_rows(replay.rewrite)},
                         ensure_ascii=False, indent=2))
        return
    a = replay.advice
    print(f"advice on turn {a.turn} ({a.principle}), played in branch {replay.branch}")
    print(f"  your line:   {replay.original.describe()}")
    print(f"  the rewrite: {replay.rewrite.describe()}")
    for title, path in (("your line", replay.original), ("the rewrite", replay.rewrite)):
        print(f"{title}:")
        for step in path.steps:
            print(f"  You: {step.line}")
            print(f"    [{step.before.value} -> {step.after.value}: {step.reason}]")
            if step.reply is not None:
                print(f"  Customer: {step.reply}")
    print(replay.note)
    print(f"(continue from the rewrite: `roleplay chat {persona_id} --resume "
          f"{replay.session_id} --branch {replay.branch}`)")


def run_replay(engine: ConversationEngine, store: TranscriptStore, session_id: str, number: int,
               personas: dict[str, Persona], as_json: bool) -> int:
    """Play advice item `number` (1-based, as the report lists them) and print both paths."""
    report = store.load_report(session_id)
    if report is None or not report.advice:
        raise RoleplayError(f"session {session_id} has no advice to replay; score it first "
                            f"(`roleplay evaluate --session {session_id}` or End call)")
    if not 1 <= number <= len(report.advice):
        raise RoleplayError(f"--advice {number}: the report has {len(report.advice)} advice "
                            "item(s); count from 1")
    info = store.info(session_id)
    persona = personas.get(info.persona_id)
    if persona is None:
        raise RoleplayError(f"session {session_id} is a call with persona {info.persona_id!r}, "
                            "which is not loaded; restore its file in the personas directory")
    replay = replay_advice(engine, store, session_id, report.advice[number - 1], persona)
    print_replay(replay, persona.id, as_json)
    return 0
