"""Runs the harness: persona contracts, then judge calibration, then the thresholds.

The judge section evaluates the development set (plain, injected and repeated copies) and
then the held-out calls, a second labelled set that is measured and never tuned on.

The runner knows nothing of argparse or of how models are built: `cmd_eval` (and the
tests) pass in the personas, the scripts, an engine factory, the development set, an
evaluate function and the thresholds. That is what lets a test run the real harness code
on a fake model, and CI run it on the embedded one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from roleplay.harness.coaches import coach_agreement
from roleplay.harness.contracts import (
    LONG_CALL,
    ReplyEventSource,
    RunResult,
    Script,
    contract_metrics,
    run_task,
    tasks_for,
)
from roleplay.harness.devset import DevCase
from roleplay.harness.judging import (
    Dataset,
    EvaluateFn,
    Evaluation,
    calibration_metrics,
    heldout_call_metrics,
    injected_variants,
    repeat_items,
    run_one,
)
from roleplay.harness.thresholds import Check, Thresholds, apply_thresholds
from roleplay.personas import Persona

Section = Literal["personas", "judge"]
SECTIONS: tuple[Section, ...] = ("personas", "judge")


class DevLabel(BaseModel):
    """The labels of one development transcript, kept in the result for the report."""

    model_config = ConfigDict(extra="forbid")

    quality: Literal["good", "bad"]
    violated: list[str]
    language: str
    split: Literal["calib", "heldout"] = "calib"


class HarnessResult(BaseModel):
    """Everything one harness run measured; the JSON report is this model."""

    model_config = ConfigDict(extra="forbid")

    started_at: datetime
    seconds: float
    cpu_seconds: float = 0.0
    """CPU time of this process (the embedded model runs in it): on a busy shared machine
    the wall time says little, and CPU time divided by the cores gives the idle wall time."""
    backend: str
    """Which model answered: the embedded model's name or the configured endpoint."""
    customer_model: str
    eval_model: str
    sections: list[Section]
    k: int
    runs: list[RunResult] = Field(default_factory=list)
    evaluations: list[Evaluation] = Field(default_factory=list)
    dev_labels: dict[str, DevLabel] = Field(default_factory=dict)
    call_labels: dict[str, DevLabel] = Field(default_factory=dict)
    """The labels of the held-out calls (`evals/moves/heldout_calls.jsonl`) that were run."""
    reviewed_labels: dict[str, DevLabel] = Field(default_factory=dict)
    """The coaches' labels of the reviewed calls that were run (`--reviewed FILE`)."""
    character_metrics: dict[str, float | None] = Field(default_factory=dict)
    """The character check on the hand-labelled replies and the rung consistency of the
    runs' replies, measured at run time (`HarnessInputs.character`) and kept for replays."""
    metrics: dict[str, float | None] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)
    thresholds_file: str = ""
    notes: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every threshold that applies held."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


@dataclass
class HarnessInputs:
    """What one run needs; built by `cmd_eval` from settings, or by a test from fakes."""

    thresholds: Thresholds
    sections: Sequence[Section] = SECTIONS
    personas: Sequence[Persona] = ()
    scripts: Sequence[Script] = ()
    engine_factory: Callable[[], ReplyEventSource] | None = None
    """Returns an engine per worker thread (each has its own store connection)."""
    dev_items: Sequence[DevCase] = ()
    heldout_calls: Sequence[DevCase] = ()
    """A second labelled set, evaluated once each and reported on its own; never tuned on."""
    reviewed_calls: Sequence[DevCase] = ()
    """Calls trainers reviewed (`roleplay sessions export --reviewed`): the judge's
    agreement with the coaches (roleplay.harness.coaches)."""
    evaluate: EvaluateFn | None = None
    character: Callable[[Sequence[RunResult]], dict[str, float | None]] | None = None
    """Measures the character check (roleplay.harness.character_labels) given the runs."""
    k: int | None = None
    """Runs per task; None: the thresholds file's run size."""
    backend: str = "unknown"
    customer_model: str = "unknown"
    eval_model: str = "unknown"
    progress: bool = True
    thresholds_file: str = ""
    notes: list[str] = field(default_factory=list)


def _persona_jobs(inputs: HarnessInputs, k: int) -> list[tuple[Persona, Script, int]]:
    jobs = []
    cap = inputs.thresholds.run.max_probes
    seen: dict[str, int] = {}
    # Runs of one persona stay together: the server's prompt cache keeps its prefix.
    for persona in inputs.personas:
        nth = seen[persona.language] = seen.get(persona.language, -1) + 1
        for script in tasks_for(persona, inputs.scripts, cap, offset=nth * (cap or 0)):
            runs = k
            if len(script.lines) >= LONG_CALL and inputs.thresholds.run.long_k is not None:
                runs = min(k, inputs.thresholds.run.long_k)
            jobs += [(persona, script, run) for run in range(1, runs + 1)]
    return jobs


def _run_personas(inputs: HarnessInputs, jobs: list[tuple[Persona, Script, int]],
                  bar: Any) -> list[RunResult]:
    if inputs.engine_factory is None:
        raise ValueError("the persona contracts need an engine_factory")
    factory = inputs.engine_factory
    workers = max(1, min(inputs.thresholds.run.jobs, len(jobs)))
    engines: dict[int, ReplyEventSource] = {}

    def one(job: tuple[Persona, Script, int]) -> RunResult:
        import threading

        key = threading.get_ident()
        if key not in engines:
            engines[key] = factory()
        persona, script, run = job
        bar.set_postfix_str(f"{persona.id}/{script.id}#{run}", refresh=False)
        result = run_task(engines[key], persona, script, run)
        bar.update(1)
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))


_Job = tuple[DevCase, Any, Literal["plain", "injected", "repeat"], Dataset]


def _judge_jobs(inputs: HarnessInputs) -> list[_Job]:
    size = inputs.thresholds.run
    work: list[_Job] = []
    work += [(item, item.transcript().turns, "plain", "dev") for item in inputs.dev_items]
    work += [(item, turns, "injected", "dev")
             for item, turns in injected_variants(inputs.dev_items, size.injection_transcripts)]
    work += [(item, item.transcript().turns, "repeat", "dev")
             for item in repeat_items(inputs.dev_items, size.repeat_transcripts)]
    # Last, so that an interrupted run still has every development-set figure.
    work += [(item, item.transcript().turns, "plain", "heldout_calls")
             for item in inputs.heldout_calls]
    work += [(item, item.transcript().turns, "plain", "reviewed")
             for item in inputs.reviewed_calls]
    return work


def _run_judge(inputs: HarnessInputs, bar: Any) -> list[Evaluation]:
    if inputs.evaluate is None:
        raise ValueError("the judge calibration needs an evaluate function")
    evaluate = inputs.evaluate
    size = inputs.thresholds.run
    work = _judge_jobs(inputs)

    def one(job: _Job) -> Evaluation:
        item, turns, variant, dataset = job
        bar.set_postfix_str(f"judge {item.id} {variant}", refresh=False)
        result = run_one(evaluate, item, turns, variant, dataset)
        bar.update(1)
        return result

    workers = max(1, min(size.jobs, len(work)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, work))


def judge_units(inputs: HarnessInputs) -> int:
    """How many evaluator calls the judge section makes (development set and held-out calls)."""
    return len(_judge_jobs(inputs))


def run_harness(inputs: HarnessInputs) -> HarnessResult:
    """Run the sections asked for, measure, and apply the thresholds."""
    k = inputs.k or inputs.thresholds.run.k
    started, began, cpu = datetime.now(UTC), time.monotonic(), time.process_time()
    result = HarnessResult(started_at=started, seconds=0.0, backend=inputs.backend,
                           customer_model=inputs.customer_model, eval_model=inputs.eval_model,
                           sections=list(inputs.sections), k=k,
                           thresholds_file=inputs.thresholds_file, notes=list(inputs.notes))
    jobs = _persona_jobs(inputs, k) if "personas" in inputs.sections else []
    units = len(jobs) + (judge_units(inputs) if "judge" in inputs.sections else 0)
    # In a CI log (no terminal) a line every 30 s is a progress report, not noise.
    tty = sys.stderr.isatty()
    with tqdm(total=units, desc="roleplay eval", unit="run",
              file=sys.stderr if tty else _LogLines(sys.stderr), disable=not inputs.progress,
              dynamic_ncols=tty, mininterval=0.5 if tty else 30.0) as bar:
        if "personas" in inputs.sections:
            result.runs = _run_personas(inputs, jobs, bar)
            if inputs.character is not None:
                result.character_metrics = inputs.character(result.runs)
        if "judge" in inputs.sections:
            result.evaluations = _run_judge(inputs, bar)
            result.dev_labels = _labels(inputs.dev_items)
            result.call_labels = _labels(inputs.heldout_calls)
            result.reviewed_labels = _labels(inputs.reviewed_calls)
    result.seconds = time.monotonic() - began
    result.cpu_seconds = time.process_time() - cpu
    return score(result, inputs.thresholds, inputs.dev_items, inputs.heldout_calls,
                 inputs.reviewed_calls)


def _labels(items: Sequence[DevCase]) -> dict[str, DevLabel]:
    return {i.id: DevLabel(quality=i.quality, violated=i.violated, language=i.language,
                           split=i.split) for i in items}


class _LogLines:
    """A file for tqdm that turns its carriage-return redraws into whole log lines."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> None:
        for line in text.replace("\r", "\n").split("\n"):
            if line.strip():
                self.stream.write(line.rstrip() + "\n")

    def flush(self) -> None:
        self.stream.flush()


def score(result: HarnessResult, thresholds: Thresholds,
          dev_items: Sequence[DevCase] | None = None,
          heldout_calls: Sequence[DevCase] | None = None,
          reviewed_calls: Sequence[DevCase] | None = None) -> HarnessResult:
    """Compute the metrics of a result and apply `thresholds` (also used to replay a JSON)."""
    metrics: dict[str, float | None] = {}
    if "personas" in result.sections:
        metrics.update(contract_metrics(result.runs))
        metrics.update(result.character_metrics)
    if "judge" in result.sections:
        items = list(dev_items) if dev_items else _items_from_labels(result.dev_labels)
        calls = list(heldout_calls) if heldout_calls else _items_from_labels(result.call_labels)
        dev = [e for e in result.evaluations if e.dataset == "dev"]
        plain = [e for e in dev if e.variant == "plain"]
        injected = [e for e in dev if e.variant == "injected"]
        repeats = [e for e in dev if e.variant == "repeat"]
        metrics.update(calibration_metrics(items, plain, injected, repeats))
        metrics.update(heldout_call_metrics(
            calls, [e for e in result.evaluations if e.dataset == "heldout_calls"]))
        reviewed = (list(reviewed_calls) if reviewed_calls
                    else _items_from_labels(result.reviewed_labels))
        metrics.update(coach_agreement(
            reviewed, [e for e in result.evaluations if e.dataset == "reviewed"]))
    checks = apply_thresholds(thresholds, metrics, set(result.sections))
    return result.model_copy(update={"metrics": metrics, "checks": checks})


def _items_from_labels(labels: dict[str, DevLabel]) -> list[DevCase]:
    # Replaying a saved result: the metrics need labels, not turns.
    return [DevCase(id=i, quality=lab.quality, violated=lab.violated, language=lab.language,
                    split=lab.split, turns=[])
            for i, lab in labels.items()]
