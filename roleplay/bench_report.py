"""`roleplay bench --report`: how long after End call the scores and the full report arrive.

A call is replayed as the web app plays it: the trainee lines of `evals/datasets/ten_turns.json`
are sent one by one through the engine, with a typing pause before each, and after each
stored reply the engine calls `Scorer.prepare`, which does the judge's checks and the rewrites
in the model's idle time. Then End call: `Scorer.scores()` (the scores) and `Scorer.advice()`
until the last rewrite (the full report) are timed, wall and CPU seconds of this process (the
in-process model servers included), next to the time of one customer reply in the same run.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from roleplay.config import Settings
from roleplay.conversation import ConversationEngine, Reply, Token
from roleplay.personas import Persona
from roleplay.report import EvaluationReport

CALL_FILE = Path("datasets") / "ten_turns.json"
"""The replayed call, under `settings.evals_dir`: its trainee lines are sent in order."""


@dataclass
class ReportTimes:
    """One replayed call: the replies, and End call to the scores and to the full report."""

    reply_s: list[float] = field(default_factory=list)
    """Each customer reply, from sending the line to the stored reply (appraisal included)."""
    ttft_s: list[float] = field(default_factory=list)
    scores: tuple[float, float] = (0.0, 0.0)
    """End call to the scores: (wall s, CPU s)."""
    full: tuple[float, float] = (0.0, 0.0)
    """End call to the last rewrite: (wall s, CPU s)."""
    advice_at_scores: int = 0
    """Rewrites already ready when the scores were."""
    advice_total: int = 0
    report: EvaluationReport | None = None


def trainee_lines(settings: Settings) -> list[str]:
    """The trainee lines of the replayed call."""
    data = json.loads((settings.evals_dir / CALL_FILE).read_text("utf-8"))
    return [t["content"] for t in data["turns"] if t["role"] == "trainee"]


def run_report_bench(settings: Settings, persona: Persona, pause: float,
                     progress: bool = True) -> ReportTimes:
    """Replay the call with `pause` seconds of typing before each line; time End call."""
    from roleplay.judge import Judge
    from roleplay.rubric import load_rubric
    from roleplay.scoring import Scorer
    from roleplay.store import SqliteStore

    store = SqliteStore(":memory:")
    engine = ConversationEngine.from_settings(settings, store)
    scorer = Scorer(load_rubric(settings.prompts_dir / "rubric.yaml"),
                    Judge.from_settings(settings), engine.appraiser, store,
                    personas={persona.id: persona}, gate=engine.gate)
    engine.on_reply = scorer.prepare  # as the web app does
    times = ReportTimes()
    session = engine.start(persona, sandbox=True)
    for i, line in enumerate(trainee_lines(settings)):
        time.sleep(pause)  # the trainee reads and types; the scorer works meanwhile
        start = time.perf_counter()
        first: float | None = None
        for event in engine.stream(session, line):
            if isinstance(event, Token) and first is None:
                first = time.perf_counter() - start
            if isinstance(event, Reply):
                break
        times.reply_s.append(time.perf_counter() - start)
        times.ttft_s.append(first if first is not None else float("nan"))
        if progress:
            print(f"line {i + 1}: reply {times.reply_s[-1]:.1f} s", flush=True)
    time.sleep(pause)  # reading the last reply before pressing End call
    store.end_session(session.session_id)
    wall, cpu = time.perf_counter(), time.process_time()
    report = scorer.scores(session.session_id)
    times.scores = (time.perf_counter() - wall, time.process_time() - cpu)
    times.advice_at_scores = len(report.advice)
    for step in scorer.advice(session.session_id, report):
        report = step
    times.full = (time.perf_counter() - wall, time.process_time() - cpu)
    times.advice_total = len(report.advice)
    times.report = report
    return times


def format_report_table(times: ReportTimes, pause: float) -> str:
    """The End call rows, with their ratio to one customer reply of the same run."""
    reply = statistics.median(times.reply_s) if times.reply_s else None

    def row(name: str, value: tuple[float, float]) -> str:
        ratio = f"{value[0] / reply:.2f}" if reply else "-"
        return f"| {name} | {value[0]:.2f} | {value[1]:.2f} | {ratio} |"

    score = times.report.overall_score if times.report else None
    return "\n".join([
        "",
        (f"replayed call: {len(times.reply_s)} trainee lines, {pause:g} s typing pause each; "
         f"customer reply median {reply or 0:.2f} s (TTFT median "
         f"{statistics.median(times.ttft_s) if times.ttft_s else 0:.2f} s); overall score "
         f"{score}; rewrites ready at the scores {times.advice_at_scores} of "
         f"{times.advice_total}"),
        "",
        "| End call to | wall s | CPU s | / one customer reply |",
        "|---|---|---|---|",
        row("scores", times.scores),
        row("full report (every rewrite)", times.full),
    ])


def main(settings: Settings, persona: Persona, pause: float) -> str:
    """Replay the call and return the machine line and the End call table."""
    from roleplay.bench import machine
    from roleplay.errors import ConfigError

    if pause < 0:
        raise ConfigError("--pause must be 0 or more seconds")
    wall, cpu = time.perf_counter(), time.process_time()
    table = format_report_table(run_report_bench(settings, persona, pause), pause)
    return (f"machine: {machine()}\n{table}\n\nwhole replay: {time.perf_counter() - wall:.0f} s "
            f"wall, {time.process_time() - cpu:.0f} s CPU of this process (model servers "
            "included)")
