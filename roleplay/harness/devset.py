"""The labelled development set (`evals/datasets/dev.jsonl`): one loader for every reader.

The judge's metrics (`judging`) and the calibration of its checks (`calibrate`) read the
same cases through `load_dev_set`; the format is described in `evals/datasets/README.md`.
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


def load_dev_set(path: Path) -> list[DevCase]:
    """Return the cases of a JSONL development set; ConfigError naming the line if one is broken."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; the judge calibration needs the labelled "
                          "development set (evals/datasets/README.md)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read: {err}") from None
    cases = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            cases.append(DevCase.model_validate_json(line))
        except ValidationError as err:
            raise ConfigError(f"{path}:{n}: {err}") from None
    return cases


def select_cases(cases: list[DevCase], ids: Sequence[str] | None) -> list[DevCase]:
    """Return the cases named by `ids` (all when None); ConfigError names unknown ids."""
    if not ids:
        return cases
    known = {c.id for c in cases}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ConfigError(f"no development case {', '.join(map(repr, unknown))}; "
                          "the ids are the `id` fields of evals/datasets/dev.jsonl")
    wanted = set(ids)
    return [c for c in cases if c.id in wanted]
