"""What the web app shows, as plain HTML strings, matplotlib figures and files.

Every piece of text that came from a person or a model (chat lines, quotes, reasons, persona
fields) goes through `html.escape` here: a trainee who types `<script>` must see those
characters, and a persona file must not be able to inject markup into a trainee's page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from matplotlib.figure import Figure

from roleplay.errors import Problem
from roleplay.mood import LADDER, Rung, by_rung
from roleplay.personas import Persona
from roleplay.report import Change, EvaluationReport, Evidence, PrincipleResult, outline
from roleplay.store import SessionInfo
from roleplay.text import STATUS_LABELS
from roleplay.transcript import Transcript

RUNG_COLOURS: dict[Rung, str] = by_rung(calm="#2e7d32", passive_angry="#f2a900",
                                        escalated_angry="#e65100", cursing="#b71c1c")

# The app's own stylesheet: local font stacks only (nothing is fetched from the internet).
CSS = """
.rp-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px;
           background: var(--background-fill-secondary); justify-content: space-between; }
.rp-card h3 { margin: 0 0 6px 0; font-size: 1.05em; }
.rp-card .rp-tags span { display: inline-block; margin: 2px 4px 2px 0; padding: 1px 8px;
                         border-radius: 999px; font-size: 0.85em;
                         background: var(--background-fill-primary);
                         border: 1px solid var(--border-color-primary); }
.rp-rung { color: #fff !important; border: none !important; padding: 1px 8px;
           border-radius: 999px; font-size: 0.85em; }
.rp-ladder { display: flex; gap: 4px; margin: 6px 0; }
.rp-ladder div { flex: 1; text-align: center; padding: 6px 2px; border-radius: 6px;
                 font-size: 0.85em; opacity: 0.35; color: #fff; }
.rp-ladder div.rp-now { opacity: 1; font-weight: bold; outline: 3px solid var(--body-text-color); }
.rp-report .rp-score { font-size: 2em; font-weight: bold; }
.rp-status { display: inline-block; padding: 1px 8px; border-radius: 999px; color: #fff;
             font-size: 0.85em; white-space: nowrap; }
.rp-status-met { background: #2e7d32; } .rp-status-partly { background: #f2a900; }
.rp-status-violated { background: #b71c1c; } .rp-status-not_applicable { background: #757575; }
.rp-status-unscored { background: #455a64; }
.rp-advice { border-left: 4px solid #1565c0; padding: 4px 10px; margin: 8px 0; }
.rp-advice-waiting { border-left-color: #9e9e9e; }
.rp-advice p { margin: 4px 0; }
.rp-went-well ul { margin: 4px 0; }
.rp-all { margin: 12px 0; } .rp-all summary { cursor: pointer; }
.rp-principles td { padding: 4px 8px; vertical-align: top; }
.rp-quiet { color: var(--body-text-color-subdued); }
.rp-transcript li { margin: 4px 0; }
.rp-transcript li:target { background: #fff59d; color: #000; }
.rp-error { border: 2px solid #b71c1c; border-radius: 8px; padding: 8px 12px; color: #b71c1c; }
.rp-problems td, .rp-problems th { padding: 2px 8px; text-align: left; vertical-align: top; }
.rp-ok { border: 2px solid #2e7d32; border-radius: 8px; padding: 8px 12px; }
.rp-hidden { display: none !important; }
/* The chatbot's own Clear button only empties the browser's copy of a stored call. */
#chat button[aria-label="Clear"], #sandbox-chat button[aria-label="Clear"] { display: none; }
"""


# --- chat --------------------------------------------------------------------------------

def chat_text(text: str) -> str:
    """Return `text` safe to show in the chat: HTML escaped, line breaks kept."""
    # quote=False: quotes need no escaping in element text, and Gradio copies the message into
    # an aria-label, where "&#x27;" would be read out literally.
    return escape(text, quote=False).replace("\n", "<br>")


def chat_messages(transcript: Transcript, pending: str | None = None) -> list[dict[str, str]]:
    """Return the transcript as chat messages, plus the customer's reply streaming so far."""
    messages = [
        {"role": "assistant" if turn.role == "customer" else "user",
         "content": chat_text(turn.content)}
        for turn in transcript.turns
    ]
    if pending is not None:
        messages.append({"role": "assistant", "content": chat_text(pending) or "…"})
    return messages


# --- scenarios and mood ------------------------------------------------------------------

def rung_badge(rung: Rung) -> str:
    return (f'<span class="rp-rung" style="background:{RUNG_COLOURS[rung]}">'
            f"{escape(rung.value)}</span>")


def scenario_card(persona: Persona) -> str:
    """Return the card that describes one scenario in the picker."""
    stars = "★" * persona.difficulty + "☆" * (5 - persona.difficulty)
    return (
        f'<div class="rp-card-body" data-persona="{escape(persona.id)}">'
        f"<h3>{escape(persona.title)}</h3>"
        f'<div class="rp-tags"><span>{escape(persona.industry)}</span>'
        f"<span>language: {escape(persona.language)}</span>"
        f"{rung_badge(persona.start_rung)}"
        f'<span title="difficulty {persona.difficulty} of 5">difficulty {stars}</span></div>'
        f"<p>{escape(persona.customer.name)} calls {escape(persona.company)}.</p></div>"
    )


def call_header(persona: Persona) -> str:
    """Return the title of a call in progress: the scenario, the company, who is calling."""
    return (f'<h2>{escape(persona.title)}</h2><p>You are the agent at '
            f"<b>{escape(persona.company)}</b>. <b>{escape(persona.customer.name)}</b> is on "
            "the line.</p>")


def mood_meter(rung: Rung, reason: str | None, name: str) -> str:
    """Return the mood meter: the ladder with the current rung lit, and why it last moved."""
    steps = "".join(
        f'<div class="{"rp-now" if r == rung else ""}" style="background:{RUNG_COLOURS[r]}">'
        f"{escape(r.value)}</div>"
        for r in LADDER
    )
    why = escape(reason) if reason else "the call has just started"
    return (
        f'<div id="mood-meter" data-rung="{escape(rung.value)}">'
        f"<b>{escape(name)}'s mood:</b> <span class=\"rp-mood-now\">{escape(rung.value)}</span>"
        f'<div class="rp-ladder">{steps}</div>'
        f'<div class="rp-mood-reason">Last change: {why}</div></div>'
    )


def last_change(transcript: Transcript, start: Rung) -> tuple[Rung, str | None]:
    """The customer's current rung and the reason recorded with the last trainee turn."""
    reason = next((t.reason for t in reversed(transcript.turns)
                   if t.role == "trainee" and t.reason), None)
    return transcript.rung or start, reason


def error_box(message: str) -> str:
    return f'<div class="rp-error" role="alert">{escape(message)}</div>'


def notice_box(message: str) -> str:
    return f'<div class="rp-ok">{escape(message)}</div>'


# --- the report ---------------------------------------------------------------------------

def _turn_link(prefix: str, index: int, transcript: Transcript) -> str:
    if not 0 <= index < len(transcript.turns):
        return ""
    return f'<a href="#{prefix}-turn-{index}" class="rp-turn-link">turn {index + 1}</a>'


def report_html(report: EvaluationReport, transcript: Transcript, prefix: str = "r") -> str:
    """Return the evaluation report, top-down: the score, what went well, the things to
    change (each with the quote and the rewrite), every principle that came up (folded) and
    the ones that did not in one line, and the numbered transcript the quotes link to.

    `prefix` keeps anchors unique when two reports are on one page. While the rewrites are
    still being written (`advice_status` pending) their places say so.
    """
    shape = outline(report)
    score = report.overall_score
    sid = escape(transcript.session_id or "")
    parts = [f'<div class="rp-report" data-session="{sid}" data-advice="{report.advice_status}">']
    if score is not None:
        parts.append(f'<div class="rp-score" data-score="{score:.1f}">Overall score: '
                     f"{score:.0f} / 100</div>")
    else:
        # Never a silent zero: an evaluation that could not score says so.
        parts.append('<div class="rp-score" data-score="">Not scored</div>')
    meta = [f"judge: {report.judge_model}" if report.judge_model else "",
            f"language: {report.language}" if report.language else ""]
    if any(meta):
        parts.append(f"<p><small>{escape(' · '.join(m for m in meta if m))}</small></p>")
    if shape.unscored:
        names = ", ".join(p.title or p.id for p in shape.unscored)
        parts.append(f'<p class="rp-unscored-note">Could not be scored: {escape(names)} '
                     "(why: see every principle, below).</p>")
    if report.warnings:
        parts.append("<ul>" + "".join(f"<li>⚠ {escape(w)}</li>" for w in report.warnings)
                     + "</ul>")
    parts.append('<section class="rp-went-well"><h3>What went well</h3>')
    if shape.went_well:
        parts.append("<ul>" + "".join(_well_html(p, transcript, prefix)
                                      for p in shape.went_well) + "</ul>")
    else:
        parts.append("<p>Nothing in this call showed a principle clearly met.</p>")
    parts.append('</section><section class="rp-changes"><h3>Do this instead</h3>')
    for change in shape.changes:
        parts.append(_change_html(change, shape.pending, transcript, prefix))
    if not shape.changes:
        parts.append('<p class="rp-advice-pending">Advice on its way…</p>' if shape.pending
                     else "<p>Nothing to change in this call.</p>")
    parts.append("</section>")
    parts.append(f'<details class="rp-all"><summary><b>Every principle</b> '
                 f"({len(shape.table)} came up)</summary>")
    if shape.table:
        parts.append('<table class="rp-principles"><tr><th>Status</th><th>Principle</th>'
                     "<th>Score</th><th>Why, and your words</th></tr>"
                     + "".join(_principle_html(p, transcript, prefix) for p in shape.table)
                     + "</table>")
    if shape.quiet:
        items = ", ".join(f'<span class="rp-quiet-item" data-principle="{escape(p.id)}">'
                          f"{escape(p.title or p.id)}</span>" for p in shape.quiet)
        parts.append(f'<p class="rp-quiet"><b>Did not come up:</b> {items}.</p>')
    parts.append("</details>")
    parts.append('<h3>Transcript</h3><ol class="rp-transcript">')
    for i, turn in enumerate(transcript.turns):
        who = "Customer" if turn.role == "customer" else "You"
        rung = f" {rung_badge(turn.rung_after)}" if turn.rung_after else ""
        parts.append(f'<li id="{prefix}-turn-{i}" value="{i + 1}"><b>{who}:</b> '
                     f"{chat_text(turn.content)}{rung}</li>")
    parts.append("</ol></div>")
    return "".join(parts)


def _status_badge(status: str) -> str:
    label = STATUS_LABELS.get(status, status)
    return f'<span class="rp-status rp-status-{escape(status)}">{escape(label)}</span>'


def _quote_html(e: Evidence, transcript: Transcript, prefix: str, limit: int = 0) -> str:
    quote = e.quote if not limit or len(e.quote) <= limit else e.quote[: limit - 1] + "…"
    return f"{_turn_link(prefix, e.turn, transcript)} “{escape(quote)}”"


def _well_html(p: PrincipleResult, transcript: Transcript, prefix: str) -> str:
    return (f'<li class="rp-well" data-principle="{escape(p.id)}"><b>{escape(p.title or p.id)}'
            f"</b>: {_quote_html(p.evidence[0], transcript, prefix, limit=160)}</li>")


def _principle_html(p: PrincipleResult, transcript: Transcript, prefix: str) -> str:
    quotes = "".join(f"<li>{_quote_html(e, transcript, prefix)}</li>" for e in p.evidence)
    shown = f"{p.score:g}" if p.score is not None else "–"
    return (
        f'<tr class="rp-principle" data-status="{escape(p.status)}" '
        f'data-principle="{escape(p.id)}"><td>{_status_badge(p.status)}</td>'
        f"<td><b>{escape(p.title or p.id)}</b></td><td>{escape(shown)}</td>"
        f"<td>{escape(p.explanation)}" + (f"<ul>{quotes}</ul>" if quotes else "") + "</td></tr>"
    )


def _change_html(change: Change, pending: bool, transcript: Transcript, prefix: str) -> str:
    p, a = change.principle, change.advice
    title = p.title if p else a.principle if a else ""
    badge = _status_badge(p.status) + " " if p else ""
    head = f"<p>{badge}<b>{escape(title)}</b></p>"
    if a is not None:
        source = "" if a.rewrite_source == "model" else " <small>(rubric example)</small>"
        return (
            f'<div class="rp-advice" data-principle="{escape(a.principle)}">{head}'
            f"<p>{_turn_link(prefix, a.turn, transcript)} You said: “{escape(a.original)}”</p>"
            f"<p><b>Try:</b> “{escape(a.rewrite)}”{source}</p>"
            f"<p><small>{escape(a.why)}</small></p></div>"
        )
    assert p is not None  # a change without advice is always a principle's
    said = (f"<p>{_quote_html(p.evidence[0], transcript, prefix)}</p>" if p.evidence else "")
    rest = ('<p class="rp-advice-pending"><i>Advice on its way…</i></p>' if pending
            else f"<p><small>{escape(p.explanation)}</small></p>")
    pending_class = " rp-advice-waiting" if pending else ""
    return (f'<div class="rp-advice{pending_class}" data-principle="{escape(p.id)}">'
            f"{head}{said}{rest}</div>")


def mood_figure(transcript: Transcript) -> Figure | None:
    """Return the customer's rung after each trainee turn as a step plot (None if no turns)."""
    path = transcript.mood_path()
    if not path:
        return None
    fig = Figure(figsize=(6, 2.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    xs = list(range(len(path)))
    ax.step(xs, [r.level for r in path], where="post", color="#37474f", linewidth=2)
    ax.scatter(xs, [r.level for r in path], c=[RUNG_COLOURS[r] for r in path], s=60, zorder=3)
    ax.set_yticks(range(len(LADDER)), [r.value for r in LADDER])
    ax.set_ylim(-0.5, len(LADDER) - 0.5)
    ax.set_xticks(xs, ["start"] + [str(i) for i in xs[1:]])
    ax.set_xlabel("after your turn")
    ax.set_title("Customer's mood over the call")
    ax.grid(axis="y", alpha=0.3)
    return fig


def score_figure(sessions: Sequence[SessionInfo]) -> Figure | None:
    """Return the overall score of each scored session, oldest first (None if none is scored)."""
    scored = sorted((s for s in sessions if s.score is not None), key=lambda s: s.started_at)
    if not scored:
        return None
    fig = Figure(figsize=(6, 2.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    xs = list(range(1, len(scored) + 1))
    ax.plot(xs, [s.score or 0.0 for s in scored], marker="o", color="#1565c0")
    ax.set_ylim(0, 100)
    ax.set_xticks(xs, [s.started_at.strftime("%d %b") for s in scored], rotation=30)
    ax.set_ylabel("overall score")
    ax.set_title("Your score across sessions")
    ax.grid(alpha=0.3)
    return fig


def write_report_files(report: EvaluationReport, markdown: str, session_id: str,
                       directory: Path) -> tuple[Path, Path]:
    """Write the report as Markdown and as JSON into `directory`; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"report-{session_id}.md"
    js = directory / f"report-{session_id}.json"
    md.write_text(markdown, encoding="utf-8")
    js.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return md, js


# --- the trainer view ---------------------------------------------------------------------

def problems_html(problems: Sequence[Problem]) -> str:
    """Return a persona's validation problems as a table: line, field, what is wrong, the fix."""
    rows = "".join(
        f"<tr><td>{p.line or ''}</td><td><code>{escape(p.field)}</code></td>"
        f"<td>{escape(p.message)}</td><td>{escape(p.fix)}</td></tr>"
        for p in problems
    )
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return (f'<div class="rp-error" role="alert" id="persona-problems"><b>{count}</b>'
            '<table class="rp-problems"><tr><th>line</th><th>field</th><th>problem</th>'
            f"<th>fix</th></tr>{rows}</table></div>")


def broken_files_html(problems: Sequence[Problem]) -> str:
    """Return the persona files that did not load: file name, line, what is wrong, the fix.

    The callers pass file names, not server paths; the scenarios that did load stay listed.
    """
    rows = "".join(
        f"<tr><td><code>{escape(p.file)}</code></td><td>{p.line or ''}</td>"
        f"<td><code>{escape(p.field)}</code></td><td>{escape(p.message)}</td>"
        f"<td>{escape(p.fix)}</td></tr>"
        for p in problems
    )
    files = len({p.file for p in problems})
    count = f"{files} scenario file{'s' if files != 1 else ''} could not be loaded"
    return (f'<div class="rp-error" role="alert" data-broken="{files}"><b>{count}</b> '
            f"and {'are' if files != 1 else 'is'} left out; the other scenarios work."
            '<table class="rp-problems"><tr><th>file</th><th>line</th><th>field</th>'
            f"<th>problem</th><th>fix</th></tr>{rows}</table></div>")
