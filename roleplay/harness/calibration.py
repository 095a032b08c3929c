"""The calibration file (`calibration.yaml` in `Settings.evals_dir`, `ROLEPLAY_EVALS_DIR`).

It holds, per judge model, the threshold of each yes/no check for each language group and
whether the check is used at all; `calibrate.calibrate_checks` measures them and
`write_calibration` stores them, `load_calibration` gives them to the judge. Decisions a
person took by hand live under `overrides:` and survive re-calibration.

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
    scores: dict[str, float] = Field(default_factory=dict)
    """The highest P(yes) of each case of the group, for a reader who wants to look."""


def load_calibration(path: Path, model_name: str) -> Calibration:
    """Return `model_name`'s calibration from `path`.

    A missing file, an unknown model or a malformed file give an empty Calibration (the
    rubric's default thresholds, every check on); a malformed file is logged, because the
    judge must still work when the file was damaged by hand.
    """
    empty = Calibration(model=model_name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return empty
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        log.warning("cannot read calibration file %s: %s; using default thresholds", path, err)
        return empty
    models = data.get("models") if isinstance(data, dict) else None
    entry = models.get(model_name) if isinstance(models, dict) else None
    if not isinstance(entry, dict):
        if entry is not None or (models is not None and not isinstance(models, dict)):
            log.warning("calibration file %s is malformed; using default thresholds", path)
        return empty
    thresholds: dict[str, float] = {}
    disabled = _overridden_off(data, model_name)
    for check, values in entry.items():
        if not isinstance(values, dict):
            continue
        if _is_number(values.get("threshold")):
            thresholds[str(check)] = float(values["threshold"])
        for group in GROUPS:
            setting = values.get(group)
            if not isinstance(setting, dict):
                continue
            if _is_number(setting.get("threshold")):
                thresholds[f"{check}:{group}"] = float(setting["threshold"])
            if setting.get("use") is False:
                disabled.add(f"{check}:{group}")
    return Calibration(model=model_name, thresholds=thresholds, disabled=frozenset(disabled))


def _overridden_off(data: dict[str, Any], model_name: str) -> set[str]:
    # Decisions a person took after reading the measurements, kept apart from the fitted
    # values so that re-calibrating does not silently undo them.
    overrides = data.get("overrides")
    mine = overrides.get(model_name) if isinstance(overrides, dict) else None
    if not isinstance(mine, dict):
        return set()
    return {str(key) for key, setting in mine.items()
            if isinstance(setting, dict) and setting.get("use") is False}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_HEADER = """\
# Thresholds of the judge's yes/no checks, per judge model and language group
# (en / other), chosen on the `calib` split of evals/datasets/dev.jsonl by
# roleplay.harness.calibrate (Youden's J). `use: false` switches a check off for a group
# whose calib AUC is below {min_auc}. Written by `roleplay eval --calibrate`; re-run it
# rather than editing by hand (decisions taken by hand go under `overrides:`).
"""


def write_calibration(path: Path, model_name: str, results: list[CheckCalibration],
                      note: str) -> None:
    """Store the thresholds of `model_name` in the calibration file, keeping other models."""
    data: dict[str, Any] = {}
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    models = data.setdefault("models", {})
    entry: dict[str, Any] = {}
    for r in results:
        check = entry.setdefault(r.check, {"principle": r.principle,
                                           "measured": time.strftime("%Y-%m-%d"), "note": note})
        check[r.group] = {"threshold": r.threshold, "use": r.use,
                          "auc_calib": _round(r.auc_calib), "auc_heldout": _round(r.auc_heldout),
                          "auc_all": _round(r.auc_all), "n_pos": r.n_pos, "n_neg": r.n_neg}
    models[model_name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_HEADER.format(min_auc=MIN_AUC)
                    + yaml.safe_dump(data, sort_keys=True, allow_unicode=True), encoding="utf-8")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
