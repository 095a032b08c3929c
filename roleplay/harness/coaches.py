"""The judge against the coaches: agreement on the calls trainers reviewed.

A reviewed call (exported by `roleplay sessions export --reviewed`) carries the coach's
verdict: `violated` lists the principles the coach left violated. Per principle, and pooled
over all of them: the share of reviewed calls where the evaluator's violated / not violated
matches the coach's (`agreement`), Cohen's kappa of the two, and how many calls the two
disagree on (`overruled`): the principles the coaches overrule most are the ones to
calibrate next. Reported, never gated (`judge.coaches.*`).
"""

from __future__ import annotations

from collections.abc import Sequence

from roleplay.harness.devset import DevCase
from roleplay.harness.judging import Evaluation
from roleplay.harness.metrics import cohens_kappa, rate

PREFIX = "judge.coaches"


def coach_agreement(cases: Sequence[DevCase],
                    evaluations: Sequence[Evaluation]) -> dict[str, float | None]:
    """The `judge.coaches.*` metrics of the reviewed calls' evaluations."""
    by_id = {e.item_id: e for e in evaluations if e.error is None}
    pairs = [(c, by_id[c.id]) for c in cases if c.id in by_id]
    if not pairs:
        return {}
    m: dict[str, float | None] = {f"{PREFIX}.calls": float(len(pairs))}
    principles = sorted({p for _, e in pairs for p in e.statuses})
    pooled_judge: list[bool] = []
    pooled_coach: list[bool] = []
    for p in principles:
        # A principle the evaluator could not score is no verdict to agree or disagree with.
        scored = [(c, e) for c, e in pairs if e.statuses.get(p, "unscored") != "unscored"]
        judge = [e.statuses.get(p) == "violated" for _, e in scored]
        coach = [p in c.violated for c, _ in scored]
        pooled_judge += judge
        pooled_coach += coach
        m[f"{PREFIX}.principle.{p}.agreement"] = rate(a == b for a, b in zip(judge, coach))
        m[f"{PREFIX}.principle.{p}.kappa"] = cohens_kappa(judge, coach)
        m[f"{PREFIX}.principle.{p}.overruled"] = float(sum(a != b for a, b in zip(judge, coach)))
    m[f"{PREFIX}.agreement"] = rate(a == b for a, b in zip(pooled_judge, pooled_coach))
    m[f"{PREFIX}.kappa"] = cohens_kappa(pooled_judge, pooled_coach)
    return m


def most_overruled(metrics: dict[str, float | None], n: int = 3) -> list[tuple[str, int]]:
    """The principles the coaches overrule most (disagreements, most first; none at 0)."""
    counts = [(key.removeprefix(f"{PREFIX}.principle.").removesuffix(".overruled"), int(v))
              for key, v in metrics.items()
              if key.startswith(f"{PREFIX}.principle.") and key.endswith(".overruled") and v]
    return sorted(counts, key=lambda kv: (-kv[1], kv[0]))[:n]


REPORT_HEADER = ["principle", "agreement", "kappa", "calls overruled"]
REPORT_NOTE = ("The evaluator against the coaches, on the calls trainers reviewed "
               "(`roleplay sessions export --reviewed`, `--reviewed FILE`): reported, not "
               "gated. The principles overruled most are the ones to calibrate next.")


def report_rows(metrics: dict[str, float | None]) -> list[list[str]]:
    """The report's table: every principle, most overruled first, then all pooled."""
    def fmt(v: float | None) -> str:
        return "–" if v is None else f"{v:.3g}"

    start, end = f"{PREFIX}.principle.", ".agreement"
    ids = [k.removeprefix(start).removesuffix(end) for k in metrics
           if k.startswith(start) and k.endswith(end)]
    ids.sort(key=lambda p: (-(metrics.get(f"{start}{p}.overruled") or 0), p))
    rows = [[p, fmt(metrics.get(f"{start}{p}.agreement")), fmt(metrics.get(f"{start}{p}.kappa")),
             fmt(metrics.get(f"{start}{p}.overruled"))] for p in ids]
    if rows:
        rows.append(["all, pooled", fmt(metrics.get(f"{PREFIX}.agreement")),
                     fmt(metrics.get(f"{PREFIX}.kappa")), ""])
    return rows


def describe(metrics: dict[str, float | None]) -> list[str]:
    """The agreement in a few lines for the terminal (empty without reviewed calls)."""
    if f"{PREFIX}.calls" not in metrics:
        return []

    def fmt(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f}"

    calls = int(metrics[f"{PREFIX}.calls"] or 0)
    lines = [(f"agreement with coaches on {calls} reviewed call(s): "
             f"{fmt(metrics.get(f'{PREFIX}.agreement'))}, kappa "
             f"{fmt(metrics.get(f'{PREFIX}.kappa'))}")]
    top = most_overruled(metrics)
    if top:
        lines.append("  overruled most: " + ", ".join(f"{p} ({k})" for p, k in top))
    return lines
