"""The report's plots, drawn with matplotlib and embedded as base64 PNG.

Each function returns a `data:` URI (or None when there is nothing to draw), so the HTML
page is one self-contained file that CI can keep as an artifact and a trainer can open
offline.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

from roleplay.harness.contracts import STRATEGIES, RunResult
from roleplay.harness.judging import Evaluation
from roleplay.mood import LADDER

_COLOURS = {"good": "#2e7d32", "bad": "#c62828", "adversarial": "#757575"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on CI; must precede the pyplot import
    import matplotlib.pyplot as plt

    return plt


def _encode(fig: Any) -> str:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def mood_paths(runs: Sequence[RunResult]) -> str | None:
    """One panel per persona: the rung after each trainee turn, one line per run."""
    personas = sorted({r.persona_id for r in runs})
    if not personas:
        return None
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    cols = min(3, len(personas))
    rows = (len(personas) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False,
                             sharey=True)
    # A small vertical offset per strategy keeps identical paths of different strategies
    # apart; runs of one strategy overlap and darken where they agree.
    offset = {"good": -0.08, "bad": 0.08, "adversarial": 0.0}
    for ax, persona in zip(axes.flat, personas):
        for r in (r for r in runs if r.persona_id == persona):
            ys = [rung.level + offset[r.strategy] for rung in r.mood_path]
            ax.plot(range(len(ys)), ys, color=_COLOURS[r.strategy], alpha=0.45,
                    linewidth=2.2 if r.strategy != "adversarial" else 1.0, marker="o",
                    markersize=3)
        ax.set_title(persona, fontsize=9)
        ax.set_yticks(range(len(LADDER)), [rung.value for rung in LADDER], fontsize=7)
        ax.set_ylim(-0.4, len(LADDER) - 0.6)
        ax.set_xlabel("trainee turn", fontsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(personas):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=_COLOURS[s], linewidth=2, label=s) for s in STRATEGIES]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8,
               bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    return _encode(fig)


def scores_good_bad(evaluations: Sequence[Evaluation], labels: dict[str, str]) -> str | None:
    """Overall scores of good and bad development transcripts, side by side."""
    plain = [e for e in evaluations if e.variant == "plain" and e.overall_score is not None]
    groups = {lab: [e.overall_score for e in plain if labels.get(e.item_id) == lab]
              for lab in ("good", "bad")}
    if not any(groups.values()):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    data = [groups["good"], groups["bad"]]
    ax.boxplot(data, positions=[1, 2], widths=0.5, showfliers=False)
    for pos, (lab, values) in enumerate(groups.items(), 1):
        # Deterministic jitter, so two reports of the same run look the same.
        xs = [pos + ((i % 7) - 3) * 0.035 for i in range(len(values))]
        ax.scatter(xs, values, color=_COLOURS[lab], alpha=0.7, s=16, zorder=3)
    ax.set_xticks([1, 2], [f"good (n={len(groups['good'])})", f"bad (n={len(groups['bad'])})"])
    ax.set_ylabel("overall score")
    ax.set_ylim(-5, 105)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _encode(fig)


def principle_pr(metrics: dict[str, float | None]) -> str | None:
    """Precision and recall of `violated` per principle, as paired horizontal bars."""
    ids = sorted({name.split(".")[2] for name in metrics if name.startswith("judge.principle.")})
    if not ids:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(ids) + 1.0))
    for i, pid in enumerate(ids):
        p = metrics.get(f"judge.principle.{pid}.precision")
        r = metrics.get(f"judge.principle.{pid}.recall")
        support = metrics.get(f"judge.principle.{pid}.support") or 0
        if p is not None:
            ax.barh(i - 0.18, p, height=0.34, color="#1565c0")
        if r is not None:
            ax.barh(i + 0.18, r, height=0.34, color="#ef6c00")
        if p is None and r is None:
            ax.text(0.01, i, "never labelled, never predicted", va="center", fontsize=7,
                    color="#757575")
        ax.text(1.02, i, f"n={support:.0f}", va="center", fontsize=7)
    ax.set_yticks(range(len(ids)), ids, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("share")
    handles = [plt.Rectangle((0, 0), 1, 1, color="#1565c0", label="precision"),
               plt.Rectangle((0, 0), 1, 1, color="#ef6c00", label="recall")]
    ax.legend(handles=handles, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _encode(fig)
