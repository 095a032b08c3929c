"""Does the advice work? Replays every "do this instead" of the scripted bad trainees.

`roleplay eval --only advice`: each bad script is played against each persona it fits, k
times; each call is scored with its advice (the judge model's checked rewrites); each
advice item is played from its turn in a branch (`roleplay.branching.replay_advice`), and
the rewrite's rung is compared with the rung the original line left. The share of items
whose rewrite left the customer calmer (or held them at calm) is the measure of the advice.

The mood path of a replay depends only on the lines (the ladder is pure): k runs differ
where the model's rewrites differ, and in the customer's replies shown beside them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from roleplay.branching import Replay, ReplayTally, replay_advice
from roleplay.config import Settings
from roleplay.conversation import ConversationEngine
from roleplay.errors import RoleplayError
from roleplay.harness.contracts import Script
from roleplay.personas import Persona
from roleplay.report import EvaluationReport
from roleplay.transcript import Transcript

Evaluate = Callable[[Transcript, Persona], EvaluationReport]


class AdviceRun(BaseModel):
    """One scripted call and the replays of its advice."""

    model_config = ConfigDict(extra="forbid")

    script: str
    persona: str
    run: int
    replays: list[Replay] = Field(default_factory=list)
    error: str | None = None
    """Why the call, its scoring or a replay could not be finished (counted, not hidden)."""


class AdviceResult(BaseModel):
    """Everything `roleplay eval --only advice` measured; results_advice.json is this."""

    model_config = ConfigDict(extra="forbid")

    started_at: datetime
    seconds: float
    cpu_seconds: float
    k: int
    runs: list[AdviceRun]
    tally: ReplayTally

    def summary(self) -> list[str]:
        """The lines the command prints (and the Markdown report holds)."""
        t = self.tally
        share = f"{t.share:.0%}" if t.share is not None else "n/a"
        failed = sum(1 for r in self.runs if r.error)
        head = (f"advice replays: {t.held}/{t.items} held ({share}): the rewrite left the "
                f"customer calmer than the original line (or both calm); calmer {t.calmer}, "
                f"same {t.same}, angrier {t.angrier}; {len(self.runs)} calls (k={self.k}), "
                f"{failed} not finished; {self.seconds:.0f} s wall, "
                f"{self.cpu_seconds:.0f} s CPU")
        lines = [head]
        for run in self.runs:
            head = f"  {run.script} x {run.persona} #{run.run}"
            if run.error:
                lines.append(f"{head}: not finished: {run.error}")
            for replay in run.replays:
                lines.append(f"{head} turn {replay.advice.turn} ({replay.advice.principle}): "
                             f"yours {replay.original.describe()} | rewrite "
                             f"{replay.rewrite.describe()} -> {replay.outcome}"
                             f"{'' if replay.holds else ' (advice did not hold)'}")
        return lines


def run_advice(scripts: Sequence[Script], personas: Sequence[Persona], k: int,
               engine_factory: Callable[[], ConversationEngine], evaluate: Evaluate,
               progress: Callable[[str], None] | None = None) -> AdviceResult:
    """Play each bad script against each persona it fits, k times, and replay its advice."""
    started, wall, cpu = datetime.now(UTC), time.monotonic(), time.process_time()
    tally = ReplayTally()
    runs: list[AdviceRun] = []
    for script in (s for s in scripts if s.strategy == "bad"):
        for persona in (p for p in personas if script.fits(p)):
            for number in range(1, k + 1):
                run = AdviceRun(script=script.id, persona=persona.id, run=number)
                runs.append(run)
                _one(run, script, persona, engine_factory(), evaluate, tally)
                if progress is not None:
                    progress(f"{script.id} x {persona.id} #{number}: "
                             f"{len(run.replays)} replays{' (' + run.error + ')' if run.error else ''}")
    return AdviceResult(started_at=started, seconds=time.monotonic() - wall,
                        cpu_seconds=time.process_time() - cpu, k=k, runs=runs, tally=tally)


def _one(run: AdviceRun, script: Script, persona: Persona, engine: ConversationEngine,
         evaluate: Evaluate, tally: ReplayTally) -> None:
    try:
        session = engine.start(persona, sandbox=True)
        for line in script.lines:
            engine.reply(session, line)
        report = evaluate(engine.store.load(session.session_id), persona)
        for advice in report.advice:
            replay = replay_advice(engine, engine.store, session.session_id, advice, persona)
            run.replays.append(replay)
            tally.add(replay)
    except RoleplayError as err:
        run.error = str(err)


def write_advice_report(result: AdviceResult, report_dir: Path) -> Path:
    """Write results_advice.json and advice.md; return the Markdown file."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "results_advice.json").write_text(result.model_dump_json(indent=2), "utf-8")
    md = report_dir / "advice.md"
    lines = ["# Does the advice work?", "", *[f"    {line}" for line in result.summary()], ""]
    for run in result.runs:
        for replay in run.replays:
            lines += [f"## {run.script} x {run.persona} #{run.run}, turn {replay.advice.turn}",
                      "", f"- yours: {replay.advice.original!r}: {replay.original.describe()}",
                      f"- rewrite: {replay.advice.rewrite!r}: {replay.rewrite.describe()}",
                      *[f"  - customer: {s.reply!r}" for s in replay.rewrite.steps],
                      f"- {replay.note}", ""]
    md.write_text("\n".join(lines), "utf-8")
    return md


def printer(quiet: bool) -> Callable[[str], None] | None:
    """Progress lines on stderr, unless quiet."""
    if quiet:
        return None
    return lambda message: print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr,
                                 flush=True)


def advice_from_settings(settings: Settings, persona_ids: Sequence[str] | None,
                         script_ids: Sequence[str] | None, k: int,
                         progress: Callable[[str], None] | None = None) -> AdviceResult:
    """Run the measure on the configured models: the customer model plays, the judge model
    scores and rewrites (with its own calibration), the configured appraiser hears."""
    from functools import partial

    from roleplay.appraisal import appraiser_from_settings
    from roleplay.evaluator import evaluate
    from roleplay.harness.scripts import load_scripts
    from roleplay.harness.setup import EvalFiles, select_personas, select_scripts
    from roleplay.judge import Judge
    from roleplay.personas import load_personas
    from roleplay.rubric import load_rubric
    from roleplay.store import SqliteStore

    files = EvalFiles(settings)
    personas = select_personas(load_personas(settings.personas_dir), persona_ids)
    scripts = select_scripts(load_scripts(files.scripted, files.adversarial), script_ids)
    score = partial(evaluate, rubric=load_rubric(files.rubric),
                    judge=Judge.from_settings(settings),
                    appraiser=appraiser_from_settings(settings))

    def engine() -> ConversationEngine:
        # In memory, as the persona contracts: harness calls fill no one's history.
        return ConversationEngine.from_settings(settings, store=SqliteStore(":memory:"))

    return run_advice(scripts, personas, k, engine,
                      lambda transcript, persona: score(transcript, persona=persona), progress)
