"""The coaching plots: the team heatmap, the per-scenario chart and a trainee's score per
principle over time. Each is readable without colour: the heatmap prints its share in
every cell, the bars carry their values and a hatch, the lines differ by marker and dash."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from roleplay.coaching.dashboard import CallRecord, Dashboard
from roleplay.report import STATUS_SCORE

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
_DASHES = ("-", "--", ":", "-.")


def _short(text: str, n: int = 18) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def heatmap_figure(board: Dashboard) -> Figure | None:
    """Trainees × principles: the share of calls where the principle was not (fully) met,
    printed in each cell (a dash where it never came up); darker is more often."""
    if not board.trainees or not board.principles:
        return None
    names = [t.name for t in board.trainees]
    grid = [[board.heatmap[n][p].share for p in board.principles] for n in names]
    # No layout engine: with a few hundred labels, constrained layout costs more than the
    # drawing itself (0.45 against 0.3 s of CPU for 12 trainees x 17 principles).
    width, height = 2.0 + 0.55 * len(board.principles), 1.6 + 0.3 * len(names)
    fig = Figure(figsize=(width, height), dpi=90)
    fig.subplots_adjust(left=1.4 / width, right=1 - 0.2 / width, bottom=1.3 / height,
                        top=1 - 0.4 / height)
    ax = fig.add_subplot()
    ax.imshow([[0.0 if v is None else v for v in row] for row in grid], cmap="Greys",
              vmin=0, vmax=1.6, aspect="auto")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, "–" if v is None else f"{v * 100:.0f}", ha="center", va="center",
                    fontsize=7)
    ax.set_xticks(range(len(board.principles)),
                  [_short(board.titles.get(p, p)) for p in board.principles],
                  rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_title("% of calls with the principle violated or partly met", fontsize=9)
    return fig


def scenario_figure(board: Dashboard) -> Figure | None:
    """Per scenario: the average score (bar, value on it) and the share of calls that ended
    angrier than they started (hatched bar)."""
    rows = [s for s in board.scenarios if s.average is not None]
    if not rows:
        return None
    width = max(4.0, 1.4 * len(rows) + 1.5)
    fig = Figure(figsize=(width, 3.0), dpi=90)  # no layout engine: see heatmap_figure
    fig.subplots_adjust(left=0.6 / width, right=1 - 0.2 / width, bottom=0.18, top=0.88)
    ax = fig.add_subplot()
    xs = range(len(rows))
    avg = [s.average or 0.0 for s in rows]
    esc = [100 * (s.escalated_share or 0.0) for s in rows]
    bars = ax.bar([x - 0.2 for x in xs], avg, 0.4, color="#90a4ae", edgecolor="black",
                  label="average score")
    hatched = ax.bar([x + 0.2 for x in xs], esc, 0.4, color="white", edgecolor="black",
                     hatch="//", label="% ended angrier than it started")
    ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.bar_label(hatched, fmt="%.0f%%", fontsize=8)
    ax.set_xticks(list(xs), [_short(s.scenario, 22) for s in rows], fontsize=8)
    ax.set_ylim(0, 110)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Per scenario")
    return fig


def principle_trend_figure(calls: Sequence[CallRecord]) -> Figure | None:
    """One trainee's score per principle over their calls (met 100, partly 50, violated 0),
    a line per principle, each with its own marker and dash."""
    ordered = sorted(calls, key=lambda c: c.started_at)
    titles: dict[str, str] = {}
    for c in ordered:
        titles.update(c.titles)
    series = {p: [(i, STATUS_SCORE[c.statuses[p]]) for i, c in enumerate(ordered)
                  if c.statuses.get(p) in STATUS_SCORE] for p in titles}
    series = {p: pts for p, pts in series.items() if pts}
    if not series:
        return None
    fig = Figure(figsize=(7, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for k, (p, pts) in enumerate(series.items()):
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker=_MARKERS[k % len(_MARKERS)],
                linestyle=_DASHES[k % len(_DASHES)], label=_short(titles[p], 28))
    ax.set_xticks(range(len(ordered)), [c.started_at.strftime("%d %b") for c in ordered],
                  rotation=30, fontsize=8)
    ax.set_yticks([0, 50, 100], ["violated", "partly", "met"])
    ax.set_ylim(-10, 110)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title("Your result per principle across calls")
    return fig
