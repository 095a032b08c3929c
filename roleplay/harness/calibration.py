"""The calibration file (`calibration.yaml` in `Settings.evals_dir`, `ROLEPLAY_EVALS_DIR`).

It holds, per judge model, the threshold of each yes/no check for each language group and
whether the check is used at all, with the AUCs it was decided on (per group, and per
language of the group); `calibrate.calibrate_checks` measures them and `write_calibration`
stores them, `load_calibration` gives them to the judge. Decisions a person took by hand
live under `overrides:` and survive re-calibration. The file is read by the one YAML loader
(`roleplay.yamlfile`) into `CalibrationFile`, so `use: false` is a bool and a misspelt key
is a problem named with its line.

This module imports nothing of the judge or the evaluator, so that the judge can import it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.yamlfile import YamlKind, joined

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.yaml"

MIN_AUC = 0.65
"""A check whose AUC on the calib split of a language group is below this is switched off
for that group: the evaluator then relies on the phrase detectors alone."""

Group = Literal["en", "other"]
GROUPS: tuple[Group, ...] = ("en", "other")


def language_group(language: str) -> Group:
    """Calibration group of a language: "en", or "other" for the seed languages.

    The small model reads English far better than Finnish or Latvian, so its checks are
    calibrated (and switched off) separately for the two groups.
    """
    return "en" if language == "en" else "other"


def calibration_file(settings: Settings) -> Path:
    """Where the calibration file of `settings` is: `calibration.yaml` in `evals_dir`."""
    return settings.evals_dir / CALIBRATION_FILE


class Calibration(BaseModel):
    """One judge model's calibrated thresholds and the checks switched off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    """The judge model these values were measured for."""
    thresholds: dict[str, float] = Field(default_factory=dict)
    """P(yes) threshold per `check:group` (or per `check` for every group)."""
    disabled: frozenset[str] = frozenset()
    """`check:group` keys whose check is not asked (measured useless, or switched off by hand)."""


class LanguageFigures(BaseModel):
    """How well a check separates within one language: reported, nothing is chosen on it.

    The threshold and `use` are decided per language group; a language of a group has too
    few cases for a choice of its own, but its AUC shows a language the group hides.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    auc_calib: float | None = None
    """AUC on the language's `calib` cases."""
    auc_heldout: float | None = None
    """AUC on the language's `heldout` cases."""
    auc_all: float | None = None
    """AUC on all of the language's cases."""
    n_pos: int = 0
    """Cases where the check's principle is not violated."""
    n_neg: int = 0
    """Cases where it is violated."""


class CheckCalibration(BaseModel):
    """A check's threshold for one language group, chosen on `calib`, and how well it separates."""

    model_config = ConfigDict(extra="forbid")

    check: str
    principle: str
    group: Group
    threshold: float
    use: bool
    """False when the calib AUC is below MIN_AUC (or unknown)."""
    auc_calib: float | None
    auc_heldout: float | None
    auc_all: float | None
    n_pos: int
    n_neg: int
    languages: dict[str, LanguageFigures] = Field(default_factory=dict)
    """The same AUCs for each language of the group."""
    scores: dict[str, float] = Field(default_factory=dict)
    """The highest P(yes) of each case of the group, for a reader who wants to look."""


# --- the file ------------------------------------------------------------------------------

class GroupSetting(BaseModel):
    """A check's entry for one language group, as `write_calibration` stores it."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    threshold: float | None = None
    """P(yes) at or above which the answer counts as yes."""
    use: bool = True
    """False: the check is not asked for this group (a bool, not the text "false")."""
    auc_calib: float | None = None
    """AUC on the group's `calib` cases, which `use` was decided on."""
    auc_heldout: float | None = None
    """AUC on the group's `heldout` cases (reported, never used)."""
    auc_all: float | None = None
    """AUC on all of the group's cases."""
    n_pos: int | None = None
    """Cases where the check's principle is not violated."""
    n_neg: int | None = None
    """Cases where it is violated."""
    languages: dict[str, LanguageFigures] = Field(default_factory=dict)
    """The AUCs of each language of the group."""


class CheckEntry(BaseModel):
    """One check of one judge model: its principle, when it was measured, each group."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    principle: str = ""
    """The rubric principle whose evidence the check is."""
    measured: str = ""
    """The date of the measurement."""
    note: str = ""
    """What it was measured on."""
    threshold: float | None = None
    """A threshold for every group (a group's own threshold wins)."""
    en: GroupSetting | None = None
    """English calls."""
    other: GroupSetting | None = None
    """Calls in the other languages."""


class Override(BaseModel):
    """A decision a person took by hand, kept when the file is re-calibrated."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    use: bool = True
    """False switches the check off for the group of the key (`check:group`)."""
    reason: str = ""
    """Why, with the measurement it rests on."""


class CalibrationFile(BaseModel):
    """The whole calibration file: per judge model its checks, and the hand overrides."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    models: dict[str, dict[str, CheckEntry]] = Field(default_factory=dict)
    """Judge model name -> check id -> entry; written by `roleplay eval --calibrate`."""
    overrides: dict[str, dict[str, Override]] = Field(default_factory=dict)
    """Judge model name -> `check:group` -> the decision taken by hand."""


_CALIBRATION_YAML: YamlKind[CalibrationFile] = YamlKind(
    CalibrationFile, noun="calibration file", error=joined(ConfigError),
    empty_fix="delete the file or run `roleplay eval --calibrate`",
    top_fix="start with `models:`", hint="see evals/README.md for the calibration file",
    missing_fix="run `roleplay eval --calibrate`")


def read_calibration_file(path: Path) -> CalibrationFile:
    """Return the whole calibration file (empty when there is none); ConfigError names every
    problem of a file that is there but broken."""
    if not path.exists():
        return CalibrationFile()
    return _CALIBRATION_YAML.read(path).model


def load_calibration(path: Path, model_name: str) -> Calibration:
    """Return `model_name`'s calibration from `path`.

    A missing file, an unknown model or a malformed file give an empty Calibration (the
    rubric's default thresholds, every check on); a malformed file is logged with every
    problem, because the judge must still work when the file was damaged by hand.
    """
    empty = Calibration(model=model_name)
    try:
        data = read_calibration_file(path)
    except ConfigError as err:
        log.warning("cannot use calibration file %s; using default thresholds:\n%s", path, err)
        return empty
    entry = data.models.get(model_name)
    if entry is None:
        return empty
    # Decisions a person took after reading the measurements, kept apart from the fitted
    # values so that re-calibrating does not silently undo them.
    disabled = {key for key, o in data.overrides.get(model_name, {}).items() if not o.use}
    thresholds: dict[str, float] = {}
    for check, values in entry.items():
        if values.threshold is not None:
            thresholds[check] = values.threshold
        for group in GROUPS:
            setting = values.en if group == "en" else values.other
            if setting is None:
                continue
            if setting.threshold is not None:
                thresholds[f"{check}:{group}"] = setting.threshold
            if not setting.use:
                disabled.add(f"{check}:{group}")
    return Calibration(model=model_name, thresholds=thresholds, disabled=frozenset(disabled))


_HEADER = """\
# Thresholds of the judge's yes/no checks, per judge model and language group
# (en / other), chosen on the `calib` split of evals/datasets/dev.jsonl by
# roleplay.harness.calibrate (Youden's J). `use: false` switches a check off for a group
# whose calib AUC is below {min_auc}. Written by `roleplay eval --calibrate`; re-run it
# rather than editing by hand (decisions taken by hand go under `overrides:`).
"""


def write_calibration(path: Path, model_name: str, results: list[CheckCalibration],
                      note: str) -> None:
    """Store the thresholds of `model_name` in the calibration file, keeping other models and
    the overrides; ConfigError (and the file untouched) when the present file is broken."""
    current = read_calibration_file(path)
    entry: dict[str, CheckEntry] = {}
    for r in results:
        check = entry.setdefault(r.check, CheckEntry(
            principle=r.principle, measured=time.strftime("%Y-%m-%d"), note=note))
        setattr(check, r.group, GroupSetting(
            threshold=r.threshold, use=r.use, auc_calib=_round(r.auc_calib),
            auc_heldout=_round(r.auc_heldout), auc_all=_round(r.auc_all), n_pos=r.n_pos,
            n_neg=r.n_neg, languages={
                code: LanguageFigures(auc_calib=_round(f.auc_calib),
                                      auc_heldout=_round(f.auc_heldout),
                                      auc_all=_round(f.auc_all), n_pos=f.n_pos, n_neg=f.n_neg)
                for code, f in r.languages.items()}))
    # exclude_unset: what the file had is written back as it was, nothing is added to it.
    data: dict[str, Any] = current.model_dump(mode="json", exclude_unset=True)
    data.setdefault("models", {})[model_name] = {
        check: e.model_dump(mode="json", exclude_unset=True) for check, e in entry.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_HEADER.format(min_auc=MIN_AUC)
                    + yaml.safe_dump(data, sort_keys=True, allow_unicode=True), encoding="utf-8")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
