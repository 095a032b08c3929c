"""The labelled transcripts: one loader for every reader and every file of them.

The development set (`evals/datasets/dev.jsonl`) and the held-out calls
(`evals/moves/heldout_calls.jsonl`, written apart from the project and never tuned on)
have one format, described in `evals/datasets/README.md`. The judge's metrics (`judging`)
and the calibration of its checks (`calibrate`, development set only) read them through
`load_dev_set`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roleplay.errors import ConfigError
from roleplay.transcript import Transcript, transcript_from_data


class DevCase(BaseModel):
    """One labelled transcript of the development set."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """Unique id, `<language>-<good|bad>-<slug>`."""
    language: str
    """Language code of the call."""
    quality: Literal["good", "bad"]
    """`good` when no principle is violated."""
    violated: list[str] = Field(default_factory=list)
    """Ids of the principles the call violates."""
    tags: list[str] = Field(default_factory=list)
    """What the case exercises."""
    notes: str = ""
    """Why it is labelled so."""
    split: Literal["calib", "heldout"] = "calib"
    """`heldout` cases are never used for tuning."""
    turns: list[dict[str, Any]]
    """The call, `{"role", "content"}` per turn."""

    def transcript(self) -> Transcript:
        """Return the call as a Transcript."""
        return transcript_from_data({"turns": self.turns}, self.id)


def load_dev_set(path: Path, split: Literal["calib", "heldout"] | None = None) -> list[DevCase]:
    """Return the cases of a JSONL file of labelled calls; ConfigError naming the line if one
    is broken, or (given `split`) if a case is of another split, or if an id repeats."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; the judge's metrics need this file of "
                          "labelled calls (evals/datasets/README.md)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read: {err}") from None
    cases: list[DevCase] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = DevCase.model_validate_json(line)
        except ValidationError as err:
            raise ConfigError(f"{path}:{n}: {err}") from None
        if split is not None and case.split != split:
            # A set meant to stay out of tuning must say so on every line, so that a
            # calibration reading it by mistake would skip it.
            raise ConfigError(f"{path}:{n}: split: is {case.split!r}; every case of this "
                              f"file must have split {split!r}")
        if case.id in seen:
            raise ConfigError(f"{path}:{n}: id: {case.id!r} is already used on line "
                              f"{seen[case.id]}; give each case its own id")
        seen[case.id] = n
        cases.append(case)
    return cases


def select_cases(cases: list[DevCase], ids: Sequence[str] | None) -> list[DevCase]:
    """Return the cases named by `ids` (all when None); ConfigError names unknown ids."""
    return select_from([cases], ids)[0]


def select_from(sets: Sequence[list[DevCase]], ids: Sequence[str] | None) -> list[list[DevCase]]:
    """Return each set's cases named by `ids` (all when None); ConfigError names an id that
    is in none of them, or one that is in two (`--case` would be ambiguous)."""
    counts: dict[str, int] = {}
    for cases in sets:
        for c in cases:
            counts[c.id] = counts.get(c.id, 0) + 1
    twice = sorted(i for i, n in counts.items() if n > 1)
    if twice:
        raise ConfigError(f"case id {', '.join(map(repr, twice))} is in two files of labelled "
                          "calls; ids must be unique across evals/datasets/dev.jsonl and "
                          "evals/moves/heldout_calls.jsonl")
    if not ids:
        return [list(cases) for cases in sets]
    unknown = [i for i in ids if i not in counts]
    if unknown:
        raise ConfigError(f"no development case {', '.join(map(repr, unknown))}; "
                          "the ids are the `id` fields of evals/datasets/dev.jsonl "
                          "and evals/moves/heldout_calls.jsonl")
    wanted = set(ids)
    return [[c for c in cases if c.id in wanted] for cases in sets]
