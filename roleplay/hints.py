"""Hints during the call: after each customer line, the principle that matters now.

A hint is chosen by code from what the mood ladder and the evaluator already read: the cues
of the customer's last line (`roleplay.signals.detect_customer`) and the stored appraisal
of the trainee's lines (`Turn.moves`). No model is asked, so a hint costs microseconds and
never delays the customer's reply. The texts, per language, live in `prompts/hints.yaml`.
Hints are off in assessment mode and for scenarios the file turns off.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from roleplay.errors import ConfigError
from roleplay.moves import CueKind, SignalKind
from roleplay.personas import Persona
from roleplay.signals import HARMFUL, HELPFUL, detect_customer
from roleplay.transcript import Transcript
from roleplay.yamlfile import YamlKind, joined

HINTS_FILE = "hints.yaml"


class MoveText(BaseModel):
    """What to say about one helpful move: the hint, and an example reply."""

    model_config = ConfigDict(extra="forbid")

    hint: str = Field(min_length=1)
    example: str = Field(min_length=1)


class LanguageTexts(BaseModel):
    """Every text of one language."""

    model_config = ConfigDict(extra="forbid")

    cues: dict[CueKind, str]
    avoid: str = Field(min_length=1)
    moves: dict[SignalKind, MoveText]


class HintsFile(BaseModel):
    """`prompts/hints.yaml`."""

    model_config = ConfigDict(extra="forbid")

    scenarios: dict[str, bool] = Field(default_factory=dict)
    """Persona id -> False to turn hints off for that scenario (on by default)."""
    cue_moves: dict[CueKind, SignalKind]
    """The move that answers each cue of the customer's line."""
    languages: dict[str, LanguageTexts] = Field(min_length=1)


class Hint(BaseModel):
    """One hint for the trainee's next line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    move: SignalKind | None
    """The move the hint asks for; None for a hint to leave a harmful move out."""
    example: str | None
    """A suggested reply (shown only on request)."""


_KIND: YamlKind[HintsFile] = YamlKind(
    HintsFile, noun="hints file", error=joined(ConfigError),
    empty_fix="add `cue_moves:` and `languages:` (see prompts/hints.yaml)",
    top_fix="start with `cue_moves:` and `languages:`",
    hint="see the comments at the top of prompts/hints.yaml")


@lru_cache(maxsize=8)
def _read(path: Path, mtime: float) -> HintsFile:
    hints = _KIND.read(path).model
    missing = [f"{lang}: {', '.join(sorted(k.value for k in HELPFUL - texts.moves.keys()))}"
               for lang, texts in hints.languages.items() if HELPFUL - texts.moves.keys()]
    unanswered = [c.value for c in CueKind if c not in hints.cue_moves]
    if missing or unanswered:
        raise ConfigError(f"{path}: every helpful move needs a hint in every language and "
                          f"every cue a move (missing: {'; '.join(missing + unanswered)})")
    return hints


def load_hints(prompts_dir: Path) -> HintsFile:
    """Read `prompts_dir/hints.yaml` (cached until the file changes); ConfigError if broken."""
    path = prompts_dir / HINTS_FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ConfigError(f"{path}: no such file; hints need it (restore prompts/hints.yaml)"
                          ) from None
    return _read(path, mtime)


def hints_on(hints: HintsFile, persona: Persona, user_wants: bool, assessment: bool) -> bool:
    """Whether hints are shown: the trainee asked for them, the scenario allows them, and the
    call is not an assessment."""
    return user_wants and not assessment and hints.scenarios.get(persona.id, True)


def next_hint(hints: HintsFile, persona: Persona, transcript: Transcript) -> Hint | None:
    """The hint for the trainee's next line, or None when the last turn is not the customer's."""
    turns = transcript.turns
    if not turns or turns[-1].role != "customer":
        return None
    texts = hints.languages.get(persona.language) or hints.languages.get("en") \
        or next(iter(hints.languages.values()))
    made = {m.kind for t in turns if t.moves for m in t.moves}
    for cue in detect_customer(turns[-1].content, persona.language):
        move = hints.cue_moves[cue.kind]
        if move not in made and cue.kind in texts.cues:
            return Hint(text=texts.cues[cue.kind].format(quote=cue.quote), move=move,
                        example=_example(texts, persona, move))
    last = next((t for t in reversed(turns) if t.role == "trainee"), None)
    for found in (last.moves or []) if last is not None else []:
        if found.kind in HARMFUL and found.kind in persona.raises:
            return Hint(text=texts.avoid.format(quote=found.quote), move=None, example=None)
    for move in persona.lowers:
        if move not in made and move in texts.moves:
            return Hint(text=texts.moves[move].hint, move=move,
                        example=_example(texts, persona, move))
    return None


def _example(texts: LanguageTexts, persona: Persona, move: SignalKind) -> str | None:
    entry = texts.moves.get(move)
    return entry.example.format(name=persona.customer.name) if entry else None
