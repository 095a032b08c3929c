"""A benchmark of the team dashboard: N generated calls in a store, the dashboard built.

`seed_calls` writes calls the way the app stores them (turns, an ended session, a report
per call over the rubric's principles); `scripts/bench_dashboard` seeds 200 of them and
times the Team tab's Show over HTTP, and `time_core` times the same work without Gradio.
Deterministic (a seeded random), so runs compare."""

from __future__ import annotations

import io
import random
import time

from roleplay.coaching.dashboard import Filters, build_dashboard, dashboard_csv, load_calls
from roleplay.coaching.db import CoachingStore
from roleplay.coaching.models import Override
from roleplay.coaching.plots import heatmap_figure, scenario_figure
from roleplay.mood import LADDER
from roleplay.report import STATUS_SCORE, EvaluationReport, PrincipleResult, Status
from roleplay.store import TranscriptStore
from roleplay.transcript import Turn

STATUSES: tuple[Status, ...] = ("met", "met", "partly", "violated", "not_applicable")


def seed_calls(store: TranscriptStore, coaching: CoachingStore, n: int,
               principles: list[tuple[str, str]], scenarios: list[str],
               trainees: int = 12, seed: int = 12) -> list[str]:
    """Write `n` ended, scored calls (6 turns each) ; every 10th reviewed."""
    rng = random.Random(seed)
    ids = []
    for i in range(n):
        user = f"trainee{i % trainees:02d}"
        sid = store.create_session(rng.choice(scenarios), user=user)
        rungs = [rng.choice(LADDER) for _ in range(4)]
        for k in range(3):
            store.add_turn(sid, Turn(role="customer", content=f"Customer line {k}.",
                                     rung_after=rungs[k]))
            store.add_turn(sid, Turn(role="trainee", content=f"Trainee line {k} of call {i}.",
                                     rung_before=rungs[k], rung_after=rungs[k + 1],
                                     reason="a reason"))
        store.end_session(sid)
        results = [PrincipleResult(id=p, title=t, status=(s := rng.choice(STATUSES)),
                                   score=STATUS_SCORE.get(s), explanation="Generated.")
                   for p, t in principles]
        scored = [r.score for r in results if r.score is not None]
        store.save_report(sid, EvaluationReport(
            overall_score=sum(scored) / len(scored) if scored else None, principles=results,
            mood_path=[r.value for r in rungs], language=rng.choice(["en", "fi"])))
        if i % 10 == 0:
            coaching.add_override(Override(
                session_id=sid, principle=principles[0][0], by="tess",
                from_status=results[0].status, to_status="violated", comment="Generated."))
        ids.append(sid)
    return ids


def time_core(store: TranscriptStore, coaching: CoachingStore) -> dict[str, float]:
    """Seconds (wall and CPU) to load the calls and build the dashboard, its CSV and its
    two plots drawn as PNG."""
    wall, cpu = time.perf_counter(), time.process_time()
    calls = load_calls(store, coaching)
    board = build_dashboard(calls, Filters(), coaching.assignments())
    dashboard_csv(board)
    for figure in (heatmap_figure(board), scenario_figure(board)):
        if figure is not None:
            figure.savefig(io.BytesIO(), format="png")  # drawn, as the page gets them
    return {"calls": float(len(calls)), "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu}
