"""The coaching parts of the page as HTML: a coach's notes beside the machine's judgement,
the change history, and the dashboard's tables. Every text from a person is escaped."""

from __future__ import annotations

from datetime import datetime
from html import escape

from roleplay.coaching.dashboard import Dashboard
from roleplay.coaching.models import Attempt, Review
from roleplay.report import EvaluationReport
from roleplay.transcript import Transcript


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def coach_notes_html(review: Review, report: EvaluationReport, transcript: Transcript) -> str:
    """The coach's notes, marked as the coach's: each changed principle with the machine's
    original status beside the coach's, and the comments on turns."""
    if not review.reviewed:
        return ""
    machine = {p.id: p for p in report.principles}
    rows = []
    for pid, change in review.current.items():
        original = machine.get(pid)
        title = original.title if original else pid
        rows.append(
            f'<tr data-principle="{escape(pid)}"><td>{escape(title)}</td>'
            f'<td class="rp-machine">{escape(original.status if original else "–")}</td>'
            f'<td class="rp-coach-status">{escape(change.to_status)}</td>'
            f"<td>{escape(change.comment)}</td><td>{escape(change.by)}, "
            f"{_when(change.at)}</td></tr>")
    table = ("<table><tr><th>Principle</th><th>Machine's judgement</th><th>Coach's status"
             "</th><th>Why</th><th>Coach</th></tr>" + "".join(rows) + "</table>") if rows else ""
    notes = []
    for c in review.comments:
        said = transcript.turns[c.turn].content if c.turn < len(transcript.turns) else ""
        notes.append(f'<li data-turn="{c.turn}"><b>Turn {c.turn + 1}</b> '
                     f'(<q>{escape(said[:160])}</q>): {escape(c.text)} '
                     f"<small>— {escape(c.by)}, {_when(c.at)}</small></li>")
    comments = f"<p><b>On the turns:</b></p><ul>{''.join(notes)}</ul>" if notes else ""
    return (f'<div id="coach-notes" class="rp-coach"><h3>Your coach\'s notes</h3>'
            f"<p><small>The coach's status is shown beside the machine's original "
            f"judgement.</small></p>{table}{comments}</div>")


def history_rows(review: Review) -> list[list[str]]:
    """Every change in order: when, who, what, from, to, why (the audit trail)."""
    rows = [[_when(c.at), c.by, f"principle {c.principle}", c.from_status, c.to_status,
             c.comment] for c in review.changes]
    rows += [[_when(c.at), c.by, f"comment on turn {c.turn + 1}", "", "", c.text]
             for c in review.comments]
    return sorted(rows, key=lambda r: r[0])


def assessment_html(attempt: Attempt, score: float | None, pass_mark: float | None) -> str:
    if score is None or pass_mark is None:
        return ""
    verdict = "Pass" if score >= pass_mark else "Fail"
    return (f'<div id="assessment-result" class="rp-ok"><b>Assessment: {verdict}</b> — '
            f"{score:.0f} / 100 against a pass mark of {pass_mark:g}.</div>")


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.0f}%" if pct else f"{value:.0f}"


def trainee_rows(board: Dashboard) -> list[list[str]]:
    return [[t.name, str(t.calls), _fmt(t.average),
             "–" if t.trend is None else ("up " if t.trend > 0 else "down " if t.trend < 0
                                          else "flat ") + f"{abs(t.trend):.0f}"]
            for t in board.trainees]


def heatmap_rows(board: Dashboard) -> list[list[str]]:
    """Trainee, then per principle `share (weak/assessed)`: the text says it, not a colour."""
    rows = []
    for t in board.trainees:
        cells = []
        for p in board.principles:
            cell = board.heatmap[t.name][p]
            cells.append("–" if cell.share is None
                         else f"{cell.share * 100:.0f}% ({len(cell.weak)}/{cell.assessed})")
        rows.append([t.name, *cells])
    return rows


def scenario_rows(board: Dashboard) -> list[list[str]]:
    return [[s.scenario, str(s.calls), _fmt(s.average), _fmt(s.escalated_share, pct=True)]
            for s in board.scenarios]


def assignment_rows(board: Dashboard) -> list[list[str]]:
    return [[str(r.assignment_id), r.trainee, r.scenario, r.due.isoformat() if r.due else "–",
             ("assessment" if r.assessment else "practice"), r.state,
             _fmt(r.score), "–" if r.passed is None else "pass" if r.passed else "fail"]
            for r in board.assignments]
