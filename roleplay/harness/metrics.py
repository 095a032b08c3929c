"""The metric functions of the eval package, each defined here once.

AUC, the Youden threshold search, precision/recall, Cohen's kappa, mean, rate and pass^k
are plain functions over lists, used by the judge's metrics (`judging`), the calibration
of its checks (`calibrate`) and the persona contracts (`contracts`).
A metric that cannot be computed (no positives, one class only) returns None, never a
made-up 0 or 1: the thresholds treat None as "not measured", which fails a gated metric.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return None
    wins = 0.0
    for p in positives:
        for q in negatives:
            wins += 1.0 if p > q else 0.5 if p == q else 0.0
    return wins / (len(positives) * len(negatives))


def youden_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Return the cut between observed scores that maximises sensitivity + specificity - 1.

    A score at or above the cut counts as positive. The cut is kept inside [0.01, 0.99]:
    the scores are probabilities, and a cut at 0 or 1 would make the check always or
    never say yes.
    """
    values = sorted(set(positives) | set(negatives))
    if not values:
        return 0.5
    middles = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    cuts = [values[0] - 1e-9, *middles, values[-1] + 1e-9]
    best, best_j = 0.5, -2.0
    for cut in cuts:
        tpr = sum(p >= cut for p in positives) / len(positives) if positives else 0.0
        tnr = sum(q < cut for q in negatives) / len(negatives) if negatives else 0.0
        j = tpr + tnr - 1
        # Among equal J, prefer the cut nearest the middle: less fitted to the extremes.
        if j > best_j + 1e-12 or (abs(j - best_j) <= 1e-12 and abs(cut - 0.5) < abs(best - 0.5)):
            best, best_j = cut, j
    return round(min(max(best, 0.01), 0.99), 3)


@dataclass(frozen=True)
class PrecisionRecall:
    """Counts of one binary decision against labels, and the rates derived from them."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        """tp / (tp + fp); None when nothing was predicted positive."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """tp / (tp + fn); None when no label is positive."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def support(self) -> int:
        """How many labels are positive."""
        return self.tp + self.fn


def precision_recall(predicted: Sequence[bool], labelled: Sequence[bool]) -> PrecisionRecall:
    """Count a binary prediction against binary labels of the same items."""
    if len(predicted) != len(labelled):
        raise ValueError(f"{len(predicted)} predictions for {len(labelled)} labels")
    tp = sum(1 for p, y in zip(predicted, labelled) if p and y)
    fp = sum(1 for p, y in zip(predicted, labelled) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labelled) if not p and y)
    return PrecisionRecall(tp=tp, fp=fp, fn=fn, tn=len(labelled) - tp - fp - fn)


def cohens_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Return Cohen's kappa between two raters; None when chance agreement is total.

    Kappa discounts the agreement two raters would reach by chance; on the sparse
    "violated" labels raw agreement is high even for a judge that never says "violated".
    """
    if len(a) != len(b):
        raise ValueError(f"{len(a)} ratings against {len(b)}")
    n = len(a)
    if n == 0:
        return None
    observed = sum(1 for x, y in zip(a, b) if x == y) / n
    categories = set(a) | set(b)
    expected = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in categories)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean; None for no values."""
    items = list(values)
    return sum(items) / len(items) if items else None


def rate(passed: Iterable[bool]) -> float | None:
    """Share of True; None when there is nothing to count."""
    items = list(passed)
    return sum(1 for x in items if x) / len(items) if items else None


def pass_hat_k(runs_per_task: Iterable[Sequence[bool]]) -> float | None:
    """Share of tasks that passed on every one of their runs (pass^k with k = runs per task).

    pass^k asks "can a trainee rely on this persona every time", which a mean pass rate
    hides: a persona breaking character in one run out of three still fails its task.
    """
    tasks = [all(runs) for runs in runs_per_task if runs]
    return rate(tasks)


def language_prefix(language: str) -> str:
    """Where the persona metrics of one language's runs are: `personas.lang.<code>.x`."""
    return f"personas.lang.{language}."
