"""The gate: `evals/thresholds.yaml`, read and applied to the measured metrics.

Each threshold names a metric (or a pattern such as `personas.*.in_character_rate`, which
applies to every persona), a bound (`min` or `max`), and the `measured` value and `margin`
it was set from, so that a reader can see how much room each one leaves. The file also
holds the run's size (k, how many transcripts get the injection and repeat checks),
because the thresholds were measured at that size and mean little at another.
"""

from __future__ import annotations

import fnmatch
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from roleplay.errors import ConfigError
from roleplay.yamlfile import YamlKind, joined


class RunSize(BaseModel):
    """How big a run the thresholds were measured on."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    k: int = Field(default=2, ge=1)
    """Runs of each scripted trainee per persona."""
    injection_transcripts: int = Field(default=6, ge=0)
    """Development transcripts re-evaluated with text aimed at the grader."""
    repeat_transcripts: int = Field(default=6, ge=0)
    """Development transcripts evaluated a second time to measure agreement."""
    max_probes: int | None = Field(default=None, ge=1)
    """Adversarial probes per persona (None: all that apply); keeps CI inside its time."""
    jobs: int = Field(default=1, ge=1)
    """Conversations run at once (the embedded server has this many slots)."""
    long_k: int | None = Field(default=None, ge=1)
    """Runs of each long call (12 or more trainee lines; None: k): they cost a dozen replies."""


class Threshold(BaseModel):
    """One bound on one metric (or on every metric a pattern matches)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    min: float | None = None
    """The metric must be at least this."""
    max: float | None = None
    """The metric must be at most this."""
    measured: float
    """The value measured when the threshold was set (the worst over the runs looked at)."""
    margin: float = Field(ge=0)
    """How far the bound sits from `measured`, for run-to-run noise."""
    note: str = ""
    """Where the measurement comes from and why the margin is what it is."""

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of `min` or `max`")
        bound = self.min if self.min is not None else self.max
        assert bound is not None
        # "Never at zero": a bound a broken system would also meet measures nothing.
        if self.min is not None and self.min <= 0:
            raise ValueError("a `min` of 0 or less cannot fail; set it from the measured value")
        return self

    @property
    def kind(self) -> Literal["min", "max"]:
        return "min" if self.min is not None else "max"

    @property
    def bound(self) -> float:
        value = self.min if self.min is not None else self.max
        assert value is not None
        return value


class Thresholds(BaseModel):
    """The whole file: the run size and one Threshold per metric pattern."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    run: RunSize = Field(default_factory=RunSize)
    metrics: dict[str, Threshold]


class Check(BaseModel):
    """One threshold applied to one metric: the verdict the report and JUnit show."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    kind: Literal["min", "max"]
    bound: float
    value: float | None
    passed: bool
    note: str = ""

    def describe(self) -> str:
        """One line naming the metric, its value and its bound."""
        op = ">=" if self.kind == "min" else "<="
        value = "not measured" if self.value is None else f"{self.value:.3g}"
        status = "ok" if self.passed else "FAIL"
        return f"{status}: {self.metric} = {value} (needs {op} {self.bound:g})"


_THRESHOLDS_YAML: YamlKind[Thresholds] = YamlKind(
    Thresholds, noun="thresholds file", error=joined(ConfigError),
    empty_fix="add `metrics:` with one threshold per metric", top_fix="start with `metrics:`",
    hint="see evals/README.md for the thresholds file",
    missing_fix="the harness needs its thresholds file (see evals/README.md)")


def load_thresholds(path: Path) -> Thresholds:
    """Read and validate the thresholds file; ConfigError names every problem."""
    return _THRESHOLDS_YAML.read(path).model


def apply_thresholds(thresholds: Thresholds, metrics: dict[str, float | None],
                     sections: set[str]) -> list[Check]:
    """Check every threshold whose section ran against the metrics that match it.

    A pattern that matches no measured metric in a section that ran fails as "not
    measured": a metric that silently disappears must not pass the gate.
    """
    checks: list[Check] = []
    for pattern, threshold in thresholds.metrics.items():
        if pattern.split(".", 1)[0] not in sections:
            continue
        names = sorted(n for n in metrics if fnmatch.fnmatchcase(n, pattern))
        if not names:
            names = [pattern]
        for name in names:
            value = metrics.get(name)
            checks.append(Check(metric=name, kind=threshold.kind, bound=threshold.bound,
                                value=value, passed=_passes(value, threshold),
                                note=threshold.note))
    return checks


def _passes(value: float | None, threshold: Threshold) -> bool:
    if value is None or math.isnan(value):
        return False
    if threshold.min is not None:
        return value >= threshold.min
    assert threshold.max is not None
    return value <= threshold.max
