"""Builds the harness's inputs from Settings: personas, scripts, engine, evaluator, thresholds.

Kept apart from the runner so that tests can hand the runner fakes, and apart from cli.py
so that argument parsing stays in cli.py. Every file is found through Settings
(`evals_dir`, `personas_dir`, `prompts_dir`), never through the checkout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.harness.calibration import CheckCalibration, calibration_file
from roleplay.harness.contracts import ReplyEventSource, Script
from roleplay.harness.devset import load_dev_set, select_cases, select_from
from roleplay.harness.runner import SECTIONS, HarnessInputs, Section
from roleplay.harness.scripts import load_scripts
from roleplay.harness.thresholds import load_thresholds
from roleplay.personas import Persona, load_personas

if TYPE_CHECKING:
    from roleplay.judge import Judge

RUBRIC_FILE = "rubric.yaml"


@dataclass(frozen=True)
class EvalFiles:
    """Where the eval files of `settings` are: all of them under `Settings.evals_dir`."""

    settings: Settings

    @property
    def thresholds(self) -> Path:
        return self.settings.evals_dir / "thresholds.yaml"

    @property
    def scripted(self) -> Path:
        return self.settings.evals_dir / "scripted_trainees.yaml"

    @property
    def adversarial(self) -> Path:
        return self.settings.evals_dir / "adversarial.yaml"

    @property
    def character_labels(self) -> Path:
        """Hand-labelled customer replies the character check is measured on."""
        return self.settings.evals_dir / "character" / "labelled.jsonl"

    @property
    def dev_set(self) -> Path:
        return self.settings.evals_dir / "datasets" / "dev.jsonl"

    @property
    def heldout_calls(self) -> Path:
        """Labelled calls written apart from the project: measured, never tuned on."""
        return self.settings.evals_dir / "moves" / "heldout_calls.jsonl"

    @property
    def calibration(self) -> Path:
        return calibration_file(self.settings)

    @property
    def rubric(self) -> Path:
        return self.settings.prompts_dir / RUBRIC_FILE


def select_personas(personas: dict[str, Persona], ids: Sequence[str] | None) -> list[Persona]:
    """Return the personas named by `ids` (all when None); ConfigError names unknown ids."""
    if not ids:
        return [personas[i] for i in sorted(personas)]
    unknown = [i for i in ids if i not in personas]
    if unknown:
        raise ConfigError(f"no persona {', '.join(map(repr, unknown))}; "
                          f"use one of {', '.join(sorted(personas))}")
    return [personas[i] for i in dict.fromkeys(ids)]


def backend_name(settings: Settings) -> str:
    """Where the models run, for the report: the endpoint, or "embedded"."""
    if settings.azure_endpoint:
        return f"azure {settings.azure_endpoint}"
    return settings.base_url or "embedded llama.cpp (xllamacpp)"


def select_scripts(scripts: Sequence[Script], ids: Sequence[str] | None) -> list[Script]:
    """Return the scripts named by `ids` (all when None); ConfigError names unknown ids."""
    if not ids:
        return list(scripts)
    unknown = sorted(set(ids) - {s.id for s in scripts})
    if unknown:
        raise ConfigError(f"no script {', '.join(map(repr, unknown))}; the ids are in "
                          "scripted_trainees.yaml and adversarial.yaml")
    return [s for s in scripts if s.id in set(ids)]


def inputs_from_settings(settings: Settings, sections: Sequence[Section] = SECTIONS,
                         persona_ids: Sequence[str] | None = None, k: int | None = None,
                         thresholds_file: Path | None = None, progress: bool = True,
                         script_ids: Sequence[str] | None = None,
                         case_ids: Sequence[str] | None = None, judge_model: bool = True,
                         dev_set: Path | None = None) -> HarnessInputs:
    """Return the inputs of a harness run on the configured backend.

    `judge_model=False` evaluates with the phrase detectors alone (no model call).
    `dev_set`: the labelled calls the judge section is measured on, instead of
    `evals/datasets/dev.jsonl` (for another development file such as the second writer's).
    """
    files = EvalFiles(settings)
    thresholds_file = thresholds_file or files.thresholds
    # Without the judge model nothing is called; the report must not name a backend.
    backend = backend_name(settings) if judge_model else "no model (phrase detectors only)"
    inputs = HarnessInputs(thresholds=load_thresholds(thresholds_file), sections=list(sections),
                           k=k, backend=backend, customer_model=settings.model,
                           eval_model=settings.eval_model if judge_model else "none (detectors)",
                           progress=progress, thresholds_file=_shown(thresholds_file))
    if "personas" in sections:
        inputs.personas = select_personas(load_personas(settings.personas_dir), persona_ids)
        scripts = load_scripts(files.scripted, files.adversarial)
        inputs.scripts = select_scripts(scripts, script_ids)
        inputs.engine_factory = partial(_engine, settings)
        if files.character_labels.exists():
            from roleplay.harness.character_labels import character_section

            inputs.character = character_section(files.character_labels,
                                                 load_personas(settings.personas_dir),
                                                 settings.prompts_dir)
    if "judge" in sections:
        from roleplay.evaluator import evaluate
        from roleplay.judge import Judge
        from roleplay.rubric import load_rubric

        inputs.dev_items, inputs.heldout_calls = select_from(
            [load_dev_set(dev_set or files.dev_set),
             load_dev_set(files.heldout_calls, split="heldout")],
            case_ids)
        from roleplay.appraisal import appraiser_from_settings

        judge = Judge.from_settings(settings) if judge_model else None
        # advice=False: the rewrites change no score or status and are the slowest step; the
        # harness measures scoring, the evaluator's own tests cover the advice. The dev
        # transcripts store no moves, so the evaluator appraises their trainee turns with the
        # engine's appraiser (the phrase lists alone when no model is called).
        inputs.evaluate = partial(evaluate, rubric=load_rubric(files.rubric), judge=judge,
                                  advice=False,
                                  appraiser=appraiser_from_settings(settings) if judge_model
                                  else None)
    return inputs


def _engine(settings: Settings) -> ReplyEventSource:
    from roleplay.conversation import ConversationEngine
    from roleplay.store import SqliteStore

    # Harness calls are sandbox sessions in memory: they must not fill a trainer's history,
    # and every turn is in results.json anyway.
    return ConversationEngine.from_settings(settings, store=SqliteStore(":memory:"))


def _shown(path: Path) -> str:
    # Relative to where the command runs, as a reader of the report typed it.
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def calibrate_from_settings(settings: Settings, case_ids: Sequence[str] | None = None,
                            scores_file: Path | None = None,
                            progress: Callable[[str], None] | None = None,
                            judge: Judge | None = None) -> tuple[list[CheckCalibration], Path]:
    """Calibrate the judge's checks (the configured one unless given); return the results
    and the calibration file written."""
    from roleplay.harness.calibrate import calibrate
    from roleplay.judge import Judge
    from roleplay.rubric import load_rubric

    files = EvalFiles(settings)
    cases = select_cases(load_dev_set(files.dev_set), case_ids)
    judge = judge or Judge.from_settings(settings)
    results = calibrate(cases, load_rubric(files.rubric), judge,
                        files.calibration, scores_file=scores_file,
                        note=f"{len(cases)} cases of {files.dev_set.name}", progress=progress)
    return results, files.calibration
