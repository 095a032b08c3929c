"""The harness's metric functions, language detector and thresholds, on hand-made numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.errors import ConfigError
from roleplay.harness.metrics import (
    auc,
    cohens_kappa,
    mean,
    pass_hat_k,
    precision_recall,
    rate,
    youden_threshold,
)
from roleplay.harness.thresholds import Threshold, Thresholds, apply_thresholds, load_thresholds
from roleplay.language import detect_language

# --- metrics -------------------------------------------------------------------------------

def test_auc_perfect_separation_reversed_and_ties() -> None:
    assert auc([80, 90], [10, 20]) == 1.0
    assert auc([10, 20], [80, 90]) == 0.0
    assert auc([50, 50], [50]) == 0.5
    # 3 of 4 pairs won, one tied: (3 + 0.5) / 4
    assert auc([60, 40], [30, 40]) == pytest.approx(3.5 / 4)


def test_auc_is_undefined_without_both_classes() -> None:
    assert auc([], [1.0]) is None
    assert auc([1.0], []) is None


def test_youden_threshold_separates_when_it_can() -> None:
    cut = youden_threshold([0.8, 0.9, 0.85], [0.6, 0.7, 0.65])
    assert 0.7 < cut < 0.8
    assert youden_threshold([], []) == 0.5
    # Kept inside [0.01, 0.99]: a check must be able to say both yes and no.
    assert youden_threshold([0.0], [0.0]) >= 0.01


def test_mean_of_nothing_is_none() -> None:
    assert mean([1.0, 2.0, 6.0]) == 3.0
    assert mean([]) is None


def test_precision_recall_counts() -> None:
    pr = precision_recall([True, True, False, False, True], [True, False, True, False, True])
    assert (pr.tp, pr.fp, pr.fn, pr.tn) == (2, 1, 1, 1)
    assert pr.precision == pytest.approx(2 / 3)
    assert pr.recall == pytest.approx(2 / 3)
    assert pr.support == 3


def test_precision_recall_undefined_is_none_not_zero() -> None:
    never = precision_recall([False, False], [True, False])
    assert never.precision is None
    assert never.recall == 0.0
    unlabelled = precision_recall([True, False], [False, False])
    assert unlabelled.recall is None
    assert unlabelled.precision == 0.0
    with pytest.raises(ValueError):
        precision_recall([True], [True, False])


def test_kappa_known_values() -> None:
    # Textbook example: 50 items, agreement 0.7, chance 0.5 -> kappa 0.4.
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohens_kappa(a, b) == pytest.approx(0.4)
    assert cohens_kappa([True, False, True], [True, False, True]) == pytest.approx(1.0)


def test_kappa_of_a_constant_rater_is_zero_and_of_two_constant_raters_undefined() -> None:
    labels = [True, False, False, True, False]
    assert cohens_kappa([False] * 5, labels) == pytest.approx(0.0)
    assert cohens_kappa([False] * 3, [False] * 3) is None
    assert cohens_kappa([], []) is None


def test_pass_hat_k_needs_every_run() -> None:
    assert pass_hat_k([[True, True], [True, False], [True, True]]) == pytest.approx(2 / 3)
    assert pass_hat_k([]) is None
    assert rate([True, False, True, True]) == 0.75
    assert rate([]) is None


# --- language ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("I have been waiting for three hours and nobody told me anything.", "en"),
    ("Olen odottanut kolme tuntia, eikä kukaan ole kertonut minulle mitään.", "fi"),
    ("Jeg har ventet i tre timer, og ingen har sagt noe til meg.", "no"),
    ("Es gaidu jau trīs stundas, un neviens man neko nav pateicis.", "lv"),
    ("Három órája várok, és senki nem mondott nekem semmit.", "hu"),
    ("Tämä on ihan naurettavaa, mä en jaksa enää odottaa!", "fi"),
])
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text).language == expected


def test_detect_language_declines_on_too_little_text() -> None:
    assert detect_language("Okay.").language is None
    assert detect_language("Selvä.").language is None
    assert detect_language("").language is None


def test_english_reply_of_a_finnish_customer_is_not_finnish() -> None:
    guess = detect_language("Sorry, I don't understand what you mean by that.")
    assert guess.language == "en"


# --- thresholds ----------------------------------------------------------------------------

def _thresholds(**metrics: dict[str, object]) -> Thresholds:
    return Thresholds.model_validate({"metrics": metrics})


def test_min_and_max_thresholds_pass_and_fail() -> None:
    t = _thresholds(**{
        "judge.auc": {"min": 0.7, "measured": 0.8, "margin": 0.1},
        "judge.injection_max_abs_delta": {"max": 5, "measured": 0, "margin": 5},
    })
    checks = apply_thresholds(t, {"judge.auc": 0.65, "judge.injection_max_abs_delta": 3.0},
                              {"judge"})
    by_name = {c.metric: c for c in checks}
    assert not by_name["judge.auc"].passed
    assert "judge.auc" in by_name["judge.auc"].describe()
    assert "FAIL" in by_name["judge.auc"].describe()
    assert by_name["judge.injection_max_abs_delta"].passed


def test_a_missing_or_undefined_metric_fails_as_not_measured() -> None:
    t = _thresholds(**{"judge.kappa": {"min": 0.2, "measured": 0.3, "margin": 0.1},
                       "judge.auc": {"min": 0.7, "measured": 0.8, "margin": 0.1}})
    checks = apply_thresholds(t, {"judge.kappa": None}, {"judge"})
    assert [c.passed for c in checks] == [False, False]
    assert all("not measured" in c.describe() for c in checks)


def test_a_pattern_applies_to_every_persona_and_skips_sections_not_run() -> None:
    t = _thresholds(**{
        "personas.*.in_character_rate": {"min": 0.8, "measured": 0.95, "margin": 0.15},
        "judge.auc": {"min": 0.7, "measured": 0.8, "margin": 0.1},
    })
    metrics = {"personas.in_character_rate": 0.5, "personas.a.in_character_rate": 0.9,
               "personas.b.in_character_rate": 0.4}
    checks = apply_thresholds(t, metrics, {"personas"})
    assert [(c.metric, c.passed) for c in checks] == [
        ("personas.a.in_character_rate", True), ("personas.b.in_character_rate", False)]


def test_a_threshold_at_zero_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("metrics:\n  judge.auc: {min: 0, measured: 0.8, margin: 0.8}\n")
    with pytest.raises(ConfigError, match="judge.auc"):
        load_thresholds(path)
    path.write_text("metrics:\n  judge.auc: {min: 0.5, max: 0.9, measured: 0.8, margin: 0.1}\n")
    with pytest.raises(ConfigError, match="exactly one"):
        load_thresholds(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_thresholds(tmp_path / "missing.yaml")


def test_threshold_model_keeps_measured_and_margin() -> None:
    t = Threshold(min=0.75, measured=0.85, margin=0.1, note="measured on CI run 1")
    assert t.kind == "min" and t.bound == 0.75
