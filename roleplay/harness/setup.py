"""Builds the harness's inputs from Settings: personas, scripts, engine, evaluator, thresholds.

Kept apart from the runner so that tests can hand the runner fakes, and apart from cli.py
so that argument parsing stays in cli.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from roleplay.config import PROJECT_ROOT, Settings
from roleplay.errors import ConfigError
from roleplay.harness.contracts import ReplyEventSource
from roleplay.harness.judging import load_dev_set
from roleplay.harness.runner import SECTIONS, HarnessInputs, Section
from roleplay.harness.scripts import load_scripts
from roleplay.harness.thresholds import load_thresholds
from roleplay.personas import Persona, load_personas

EVALS_DIR = PROJECT_ROOT / "evals"
THRESHOLDS_FILE = EVALS_DIR / "thresholds.yaml"
SCRIPTED_FILE = EVALS_DIR / "scripted_trainees.yaml"
ADVERSARIAL_FILE = EVALS_DIR / "adversarial.yaml"
DEV_SET_FILE = EVALS_DIR / "datasets" / "dev.jsonl"
RUBRIC_FILE = "rubric.yaml"


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


def inputs_from_settings(settings: Settings, sections: Sequence[Section] = SECTIONS,
                         persona_ids: Sequence[str] | None = None, k: int | None = None,
                         thresholds_file: Path = THRESHOLDS_FILE, progress: bool = True,
                         ) -> HarnessInputs:
    """Return the inputs of a harness run on the configured backend."""
    thresholds = load_thresholds(thresholds_file)
    inputs = HarnessInputs(thresholds=thresholds, sections=list(sections), k=k,
                           backend=backend_name(settings), customer_model=settings.model,
                           eval_model=settings.eval_model, progress=progress,
                           thresholds_file=_shown(thresholds_file))
    if "personas" in sections:
        inputs.personas = select_personas(load_personas(settings.personas_dir), persona_ids)
        inputs.scripts = load_scripts(SCRIPTED_FILE, ADVERSARIAL_FILE)
        inputs.engine_factory = partial(_engine, settings)
    if "judge" in sections:
        from roleplay.evaluator import evaluate
        from roleplay.judge import Judge
        from roleplay.rubric import load_rubric

        inputs.dev_items = load_dev_set(DEV_SET_FILE)
        rubric = load_rubric(settings.prompts_dir / RUBRIC_FILE)
        # advice=False: the rewrites change no score or status and are the slowest step; the
        # harness measures scoring, the evaluator's own tests cover the advice.
        inputs.evaluate = partial(evaluate, rubric=rubric, judge=Judge.from_settings(settings),
                                  advice=False)
    return inputs


def _engine(settings: Settings) -> ReplyEventSource:
    from roleplay.conversation import ConversationEngine
    from roleplay.store import SqliteStore

    # Harness calls are sandbox sessions in memory: they must not fill a trainer's history,
    # and every turn is in results.json anyway.
    return ConversationEngine.from_settings(settings, store=SqliteStore(":memory:"))


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
