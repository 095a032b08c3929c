"""The character check measured against hand-labelled customer replies (evals/character/).

`evals/character/labelled.jsonl` holds real replies of the embedded model, each read and
labelled by a person: in or out of character (and why), whether the words fit the rung the
reply was generated at, and whether it contradicts the persona's facts. This module runs
the engine's own checks (`roleplay.character.CharacterCheck`, built as the engine builds it)
on every labelled reply and reports precision and recall of "out of character", per split
and per language, and the accuracy of the rung and fact checks. No model is called, so the
harness computes it on every persona run and CI gates it (evals/thresholds.yaml).

The split is fixed in the file: `dev` is what the vocabularies were written against,
`heldout` is measured only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from roleplay.character import CHARACTER_KINDS, CharacterCheck, Verdict
from roleplay.character.rung import fact_problem, rung_problem
from roleplay.customer_prompt import PromptBuilder
from roleplay.errors import ConfigError
from roleplay.harness.metrics import language_prefix, precision_recall, rate
from roleplay.mood import Rung
from roleplay.personas import Persona
from roleplay.signals import swears

SPLITS = ("dev", "heldout")
PREFIX = "personas.character_check."


class LabelledReply(BaseModel):
    """One customer reply and a reader's labels."""

    model_config = ConfigDict(extra="forbid")

    id: str
    split: str
    source: str
    persona: str
    language: str
    script: str
    strategy: str
    probe: str | None = None
    turn: int
    rung: Rung
    """The rung the reply was generated at."""
    trainee: str
    reply: str
    in_character: bool
    category: str | None = None
    """Out of character: ai, label, narration, mode, language, gibberish, agent, other."""
    why: str
    rung_consistent: bool
    fact_consistent: bool
    said: list[str]
    """The customer's earlier lines of the call (the opening first)."""
    heard: list[str]
    """The agent's lines of the call, the one this reply answers last."""


def load_labelled(path: Path) -> list[LabelledReply]:
    """Read the labelled replies; ConfigError names the line at fault."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the labelled replies ({err.strerror})") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(LabelledReply.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as err:
            raise ConfigError(f"{path}:{number}: not a labelled reply ({err})") from None
    return items


class Judged(BaseModel):
    """What the checks said of one labelled reply."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    item: LabelledReply
    verdict: Verdict | None
    rung_problem: str | None
    fact_problem: str | None

    @property
    def out(self) -> bool:
        """The check calls the reply out of character."""
        return self.verdict is not None and self.verdict.kind in CHARACTER_KINDS


def judge(items: Sequence[LabelledReply], personas: Mapping[str, Persona],
          prompts_dir: Path | None) -> list[Judged]:
    """Run the engine's checks on every item (with the persona's prompt when it is known)."""
    builders: dict[str, PromptBuilder] = {}
    out = []
    for item in items:
        persona = personas.get(item.persona)
        check = _check(item, persona, builders, prompts_dir)
        verdict = check.check(item.reply, final=True)
        rung = fact = None
        if persona is not None:
            below = item.rung != Rung.CURSING and swears(item.reply, item.language)
            rung = "swears" if below else rung_problem(item.reply, item.rung, persona)
            fact = fact_problem(item.reply, persona, [*item.said, *item.heard])
        out.append(Judged(item=item, verdict=verdict, rung_problem=rung, fact_problem=fact))
    return out


def _check(item: LabelledReply, persona: Persona | None, builders: dict[str, PromptBuilder],
           prompts_dir: Path | None) -> CharacterCheck:
    # The engine checks a reply after the trainee line it answers is in the transcript.
    said, heard = frozenset(item.said), frozenset(item.heard)
    if persona is None or prompts_dir is None:
        return CharacterCheck(rung=item.rung, language=item.language, said=said, heard=heard,
                              persona=persona)
    if persona.id not in builders:
        builders[persona.id] = PromptBuilder(persona, prompts_dir)
    base = builders[persona.id].checker(item.rung)
    return CharacterCheck(rung=item.rung, language=item.language,
                          instructions=base.instructions, said=said, heard=heard,
                          persona=persona)


def label_metrics(judged: Sequence[Judged], personas: Mapping[str, Persona]
                  ) -> dict[str, float | None]:
    """Precision/recall of "out of character" and the rung/fact checks' accuracy, by split
    (`personas.character_check.<split>.*`) and by split and language (`...<split>.<lang>.*`)."""
    metrics: dict[str, float | None] = {}
    for split in SPLITS:
        mine = [j for j in judged if j.item.split == split]
        groups = {"": mine}
        groups.update({f"{lang}.": [j for j in mine if j.item.language == lang]
                       for lang in sorted({j.item.language for j in mine})})
        for key, group in groups.items():
            at = f"{PREFIX}{split}.{key}"
            pr = precision_recall([j.out for j in group], [not j.item.in_character for j in group])
            metrics[f"{at}precision"] = pr.precision
            metrics[f"{at}recall"] = pr.recall
            metrics[f"{at}replies"] = float(len(group))
            metrics[f"{at}out_of_character"] = float(pr.support)
            # The words of a reply out of character fit no rung: only replies in character
            # are labelled for their rung and facts in a way that means something.
            known = [j for j in group if j.item.in_character and j.item.persona in personas]
            metrics[f"{at}rung_accuracy"] = rate(
                (j.rung_problem is None) == j.item.rung_consistent for j in known)
            metrics[f"{at}fact_accuracy"] = rate(
                (j.fact_problem is None) == j.item.fact_consistent for j in known)
    return metrics


def missed(judged: Sequence[Judged], split: str = "dev") -> list[Judged]:
    """The replies of `split` the check gets wrong (both ways), for reading."""
    return [j for j in judged if j.item.split == split and j.out == j.item.in_character]


def rung_metrics(replies: Sequence[tuple[str, str, Rung]], personas: Mapping[str, Persona],
                 ) -> dict[str, float | None]:
    """Share of (persona id, reply, rung) whose words fit the rung and the persona's facts:
    `personas.rung_consistency`, pooled, per persona and per language (the harness's own
    replies)."""
    verdicts: dict[str, list[bool]] = {}
    by_language: dict[str, list[bool]] = {}
    for persona_id, reply, rung in replies:
        persona = personas.get(persona_id)
        if persona is None or not reply:
            continue
        below = rung != Rung.CURSING and swears(reply, persona.language)
        ok = not below and rung_problem(reply, rung, persona) is None
        verdicts.setdefault(persona_id, []).append(ok)
        by_language.setdefault(persona.language, []).append(ok)
    metrics = {"personas.rung_consistency": rate(v for vs in verdicts.values() for v in vs)}
    metrics.update({f"personas.{pid}.rung_consistency": rate(vs) for pid, vs in verdicts.items()})
    metrics.update({f"{language_prefix(lang)}rung_consistency": rate(vs)
                    for lang, vs in by_language.items()})
    return metrics


def report_rows(metrics: Mapping[str, float | None]) -> list[list[str]]:
    """Rows of the report's table: split and language, replies, out of character, P, R,
    rung and fact accuracy."""
    def cell(value: float | None, whole: bool = False) -> str:
        if value is None:
            return "n/a"
        return str(int(value)) if whole else f"{value:.3f}"

    rows = []
    for split in SPLITS:
        keys = sorted({n[len(f"{PREFIX}{split}."):].rsplit(".", 1)[0] for n in metrics
                       if n.startswith(f"{PREFIX}{split}.") and n.count(".") == 4})
        for key in ["", *keys]:
            at = f"{PREFIX}{split}.{key}." if key else f"{PREFIX}{split}."
            rows.append([split, key or "all", cell(metrics.get(f"{at}replies"), True),
                         cell(metrics.get(f"{at}out_of_character"), True),
                         cell(metrics.get(f"{at}precision")), cell(metrics.get(f"{at}recall")),
                         cell(metrics.get(f"{at}rung_accuracy")),
                         cell(metrics.get(f"{at}fact_accuracy"))])
    return rows


REPORT_HEADER = ["split", "language", "replies", "out of character", "precision", "recall",
                 "rung check accuracy", "fact check accuracy"]
REPORT_NOTE = (
    "The engine's character check run on hand-labelled replies of the embedded model "
    "(evals/character/labelled.jsonl; no model call): precision and recall of \"out of "
    "character\"; the rung and fact checks' accuracy on the replies labelled in character. "
    "`dev` is what the vocabularies were written against; `heldout` is only measured.")


def character_section(labelled: Path, personas: Mapping[str, Persona],
                      prompts_dir: Path | None) -> Callable[[Sequence[Any]], dict[str, float | None]]:
    """The harness's character metrics: the labelled set's, then the rung consistency of the
    run replies given (objects with persona_id and replies of reply/rung/blocked)."""
    items = load_labelled(labelled)

    def measure(runs: Sequence[Any]) -> dict[str, float | None]:
        metrics = label_metrics(judge(items, personas, prompts_dir), personas)
        metrics.update(rung_metrics([(r.persona_id, c.reply, c.rung) for r in runs
                                     for c in r.replies if not c.blocked], personas))
        return metrics

    return measure
