"""`roleplay eval --only advice`: the advice of scripted bad trainees replayed and counted,
on the real engine, store and harness code with a scripted customer and a fake scorer."""

from __future__ import annotations

import json
from pathlib import Path

from _engine_fakes import ScriptedServer, scripted_model

from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.harness.advice_replay import run_advice, write_advice_report
from roleplay.harness.contracts import Script
from roleplay.harness.scripts import load_scripts
from roleplay.harness.setup import EvalFiles
from roleplay.personas import Persona, find_persona
from roleplay.report import Advice, EvaluationReport
from roleplay.store import SqliteStore
from roleplay.transcript import Transcript

GOOD = ("I'm really sorry, I understand every minute costs you money. I'm escalating this to "
        "the on-call engineers as critical right now and I'll call you back in 30 minutes.")


def engine() -> ConversationEngine:
    replies: list[object] = [f"Reply {i}." for i in range(40)]
    return ConversationEngine(scripted_model(ScriptedServer(replies)),  # type: ignore[arg-type]
                              SqliteStore(":memory:"), PROJECT_ROOT / "prompts")


def advise_every_line(rewrite: str):  # type: ignore[no-untyped-def]
    def evaluate(transcript: Transcript, persona: Persona) -> EvaluationReport:
        return EvaluationReport(advice=[
            Advice(turn=i, original=t.content, rewrite=rewrite, principle="p", why="w")
            for i, t in enumerate(transcript.turns) if t.role == "trainee"][:3])
    return evaluate


def scripts() -> list[Script]:
    files = EvalFiles(Settings())
    return load_scripts(files.scripted, files.adversarial)


def test_only_bad_scripts_are_played_k_times_and_every_advice_item_is_replayed(
        tmp_path: Path) -> None:
    persona = find_persona("crm-outage", PROJECT_ROOT / "personas")
    result = run_advice(scripts(), [persona], 2, engine, advise_every_line(GOOD))
    bad = [s for s in scripts() if s.strategy == "bad" and s.fits(persona)]
    assert bad and [(r.script, r.run) for r in result.runs] == [
        (s.id, n) for s in bad for n in (1, 2)]
    assert all(r.error is None and len(r.replays) == 3 for r in result.runs)
    t = result.tally
    assert t.items == 6 * len(bad) and t.calmer + t.same + t.angrier == t.items
    # The good line in place of the first jab keeps the customer from going up.
    assert all(r.replays[0].outcome == "calmer" and r.replays[0].holds for r in result.runs)
    assert t.share == t.held / t.items
    md = write_advice_report(result, tmp_path)
    saved = json.loads((tmp_path / "results_advice.json").read_text("utf-8"))
    assert saved["tally"]["items"] == t.items
    assert f"{t.held}/{t.items} held" in md.read_text("utf-8")


def test_a_rewrite_as_bad_as_the_line_never_holds() -> None:
    persona = find_persona("crm-outage", PROJECT_ROOT / "personas")
    bad = [s for s in scripts() if s.id == "bad-en"]
    result = run_advice(bad, [persona], 1, engine,
                        advise_every_line("Calm down, that is not my problem."))
    assert result.tally.items == 3 and result.tally.held == 0
    assert "(advice did not hold)" in "\n".join(result.summary())
