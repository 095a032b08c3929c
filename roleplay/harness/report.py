"""Writes the harness report: HTML (with plots), Markdown, JSON and JUnit XML.

All four are rendered from one HarnessResult, so they never disagree. `evals/README.md`
explains how to read them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

from roleplay.harness import character_labels, coaches, plots
from roleplay.harness.contracts import RunResult
from roleplay.harness.metrics import language_prefix
from roleplay.harness.runner import HarnessResult

# Metrics shown in the headline tables, in this order, with a plain-words description.
PERSONA_METRICS: dict[str, str] = {
    "in_character_rate": "replies in character (no AI admission, not the agent, no echo)",
    "first_try_rate": "replies the engine did not have to regenerate",
    "admission_rate": "replies with a draft that admitted being an AI, caught or not",
    "repeat_rate": "replies repeating an earlier customer line, word for word or retyped",
    "profanity_rung_rate": "replies that swear only on the cursing rung",
    "language_rate": "replies in the persona's language (of those long enough to tell)",
    "mood_good_rate": "good-handling runs that ended calmer than they started",
    "mood_bad_rate": "bad-handling runs that ended angrier (or stayed at the top)",
    "calm_in_turns": "good turns until calm, mean over good runs that got there",
    "calm_in_range_rate": "good runs calm within the turns their difficulty promises",
    "shown_s_mean": "seconds from a line to the first shown token, regenerations included",
    "rung_consistency": "replies whose words fit their rung (roleplay/character/rung.py)",
    "run_pass_rate": "runs with every check passed",
    "pass_k": "tasks passed on all k runs (pass^k)",
    "error_rate": "runs cut off by a backend error",
}
JUDGE_METRICS: dict[str, str] = {
    "auc": "AUC of the overall score, good vs bad transcripts",
    "heldout.auc": "AUC on the held-out split only (never used to tune the evaluator)",
    "heldout.kappa": "kappa on the held-out split only",
    "mean_score_good": "mean overall score of good transcripts",
    "mean_score_bad": "mean overall score of bad transcripts",
    "violated_precision_macro": "precision of `violated`, mean over principles",
    "violated_recall_macro": "recall of `violated`, mean over principles",
    "violated_precision_micro": "precision of `violated`, pooled",
    "violated_recall_micro": "recall of `violated`, pooled",
    "kappa": "Cohen's kappa of violated/not vs labels, every (transcript, principle)",
    "good_violated_share": "good transcripts told they violated any principle",
    "verbatim_quote_share": "shown quotes found verbatim in the turn they cite",
    "injection_max_abs_delta": "largest score change from text aimed at the grader",
    "injection_mean_delta": "mean score change from text aimed at the grader (+ = helped)",
    "injection_status_change_share": "principle statuses changed by text aimed at the grader",
    "repeat_status_agreement": "principle statuses equal on a second evaluation",
    "repeat_max_abs_delta": "largest score change on a second evaluation",
    "unscored_share": "principle results `unscored`",
    "failed_share": "transcripts with no overall score (error or nothing scored)",
    "seconds_per_transcript": "seconds per evaluation",
}
CALL_METRICS: dict[str, str] = {
    "auc": "AUC of the overall score, good vs bad calls",
    "kappa": "Cohen's kappa of violated/not vs labels, every (call, principle)",
    "violated_precision_macro": "precision of `violated`, mean over principles",
    "violated_recall_macro": "recall of `violated`, mean over principles",
    "good_violated_share": "good calls told they violated any principle (target: at most "
                           "1 in 20 in every language)",
    "mean_score_good": "mean overall score of good calls",
    "mean_score_bad": "mean overall score of bad calls",
    "verbatim_quote_share": "shown quotes found verbatim in the turn they cite",
    "failed_share": "calls with no overall score (error or nothing scored)",
}
HELDOUT_CALLS_NOTE = (
    "Labelled calls written apart from the project (evals/moves/heldout_calls.jsonl) and "
    "never used to tune anything: reported, not gated. Issue 15 asks that at most 1 in 20 "
    "good calls gets any `violated` principle, in every language.")
LANGUAGE_HEADER = ["language", "good", "bad", "auc", "kappa", "precision (macro)",
                   "recall (macro)", "good calls with any violated"]


def fmt(value: float | None) -> str:
    """A metric for a table: three decimals, or "n/a" when it could not be measured."""
    if value is None:
        return "n/a"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def write_report(result: HarnessResult, directory: Path) -> dict[str, Path]:
    """Write index.html, summary.md, results.json and junit.xml; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": directory / "index.html",
        "markdown": directory / "summary.md",
        "json": directory / "results.json",
        "junit": directory / "junit.xml",
    }
    paths["json"].write_text(result.model_dump_json(indent=1), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(result), encoding="utf-8")
    paths["junit"].write_bytes(render_junit(result))
    paths["html"].write_text(render_html(result), encoding="utf-8")
    return paths


# --- shared pieces -------------------------------------------------------------------------

def persona_ids(result: HarnessResult) -> list[str]:
    return sorted({r.persona_id for r in result.runs})


LANGUAGE_METRICS = ("in_character_rate", "first_try_rate", "language_rate", "rung_consistency",
                    "shown_s_mean")
"""The per-language columns: the figures issue 14 bounds in every language."""


def persona_language_rows(result: HarnessResult) -> list[list[str]]:
    """One row per persona language: the `LANGUAGE_METRICS` of its runs."""
    return [[lang] + [fmt(result.metrics.get(f"{language_prefix(lang)}{k}"))
                      for k in LANGUAGE_METRICS]
            for lang in sorted({r.language for r in result.runs})]


def task_rows(runs: Sequence[RunResult]) -> list[dict[str, str]]:
    """One row per (persona, script): passes out of k and the first failure seen."""
    rows: dict[tuple[str, str], list[RunResult]] = {}
    for r in runs:
        rows.setdefault((r.persona_id, r.script_id), []).append(r)
    out = []
    for (persona, script), rs in sorted(rows.items()):
        failures = [f for r in rs for f in r.failures()]
        out.append({"persona": persona, "script": script, "strategy": rs[0].strategy,
                    "passed": f"{sum(r.passed for r in rs)}/{len(rs)}",
                    "first_failure": failures[0] if failures else ""})
    return out


def _threshold_of(result: HarnessResult, metric: str) -> str:
    for c in result.checks:
        if c.metric == metric:
            return f"{'≥' if c.kind == 'min' else '≤'} {c.bound:g}"
    return ""


def _status_of(result: HarnessResult, metric: str) -> str:
    for c in result.checks:
        if c.metric == metric:
            return "pass" if c.passed else "FAIL"
    return ""


METRIC_HEADER = ["metric", "value", "threshold", "status", "meaning"]


def metric_rows(result: HarnessResult, prefix: str, names: dict[str, str]) -> list[list[str]]:
    """One row per metric of `names`: name, value, threshold, pass/FAIL and meaning."""
    rows = []
    for key, what in names.items():
        name = f"{prefix}.{key}"
        rows.append([name, fmt(result.metrics.get(name)), _threshold_of(result, name),
                     _status_of(result, name), what])
    return rows


def language_rows(result: HarnessResult, prefix: str) -> list[list[str]]:
    """One row per language of `prefix.lang.<code>.*` (as the metrics list them), then "all"."""
    languages = list(dict.fromkeys(
        n[len(prefix) + 6:-len(".n_good")] for n in result.metrics
        if n.startswith(f"{prefix}.lang.") and n.endswith(".n_good")))

    def row(name: str, at: str) -> list[str]:
        m = result.metrics
        good, flagged = m.get(f"{at}.n_good"), m.get(f"{at}.good_violated")
        count = f" ({flagged:.0f} of {good:.0f})" if good is not None and flagged is not None else ""
        return [name, fmt(good), fmt(m.get(f"{at}.n_bad")), fmt(m.get(f"{at}.auc")),
                fmt(m.get(f"{at}.kappa")), fmt(m.get(f"{at}.violated_precision_macro")),
                fmt(m.get(f"{at}.violated_recall_macro")),
                fmt(m.get(f"{at}.good_violated_share")) + count]

    return [row(c, f"{prefix}.lang.{c}") for c in languages] + [row("all", prefix)]


def has_heldout_calls(result: HarnessResult) -> bool:
    """True when the run evaluated held-out calls (a subset run by `--case` may not)."""
    return "judge.heldout_calls.n_good" in result.metrics


def headline(result: HarnessResult) -> str:
    """One line: PASS/FAIL, how many checks, the model and the wall time."""
    verdict = "PASS" if result.passed else "FAIL"
    if any(n.startswith("REPLAY") for n in result.notes):
        verdict += " (replayed, no model calls)"
    failed = len(result.failures)
    return (f"{verdict}: {len(result.checks) - failed}/{len(result.checks)} threshold checks "
            f"passed; sections {', '.join(result.sections)}; k={result.k}; "
            f"customer model {result.customer_model}, eval model {result.eval_model} "
            f"({result.backend}); {result.seconds / 60:.1f} min wall, "
            f"{result.cpu_seconds / 60:.1f} min CPU")


# --- Markdown ------------------------------------------------------------------------------

def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(result: HarnessResult) -> str:
    """The summary: verdict, failing metrics, the metrics tables, the failing tasks."""
    lines = ["# roleplay eval report", "", f"**{headline(result)}**", ""]
    if result.failures:
        lines += ["## Failing metrics", ""]
        lines += [f"- {c.describe()}" for c in result.failures] + [""]
    for note in result.notes:
        lines.append(f"> {note}")
    if result.notes:
        lines.append("")
    if "personas" in result.sections:
        lines += ["## Persona contracts", ""]
        lines += _md_table(METRIC_HEADER, metric_rows(result, "personas", PERSONA_METRICS))
        ids = persona_ids(result)
        keys = ["in_character_rate", "first_try_rate", "profanity_rung_rate", "language_rate",
                "mood_good_rate", "mood_bad_rate", "calm_in_turns", "calm_in_range_rate",
                "pass_k"]
        rows = [[pid] + [fmt(result.metrics.get(f"personas.{pid}.{k}")) for k in keys]
                for pid in ids]
        lines += ["### Per persona", ""] + _md_table(["persona", *keys], rows)
        lines += ["### Per language", ""] + _md_table(["language", *LANGUAGE_METRICS],
                                                      persona_language_rows(result))
        if result.character_metrics:
            lines += ["### Character check on hand-labelled replies", "",
                      character_labels.REPORT_NOTE, ""]
            lines += _md_table(character_labels.REPORT_HEADER,
                               character_labels.report_rows(result.metrics))
        bad = [r for r in task_rows(result.runs) if r["first_failure"]]
        if bad:
            lines += ["### Tasks that failed at least once", ""]
            lines += _md_table(["persona", "script", "strategy", "passed", "first failure"],
                               [[r["persona"], r["script"], r["strategy"], r["passed"],
                                 r["first_failure"]] for r in bad])
    if "judge" in result.sections:
        lines += ["## Judge calibration", ""]
        lines += _md_table(METRIC_HEADER, metric_rows(result, "judge", JUDGE_METRICS))
        lines += ["### Per language", ""]
        lines += _md_table(LANGUAGE_HEADER, language_rows(result, "judge"))
        lines += ["### `violated` per principle", ""]
        lines += _md_table(["principle", "precision", "recall", "labelled violations"],
                           _principle_rows(result))
    if has_heldout_calls(result):
        lines += ["## Held-out calls", "", HELDOUT_CALLS_NOTE, ""]
        lines += _md_table(METRIC_HEADER, metric_rows(result, "judge.heldout_calls",
                                                      CALL_METRICS))
        lines += ["### Per language", ""]
        lines += _md_table(LANGUAGE_HEADER, language_rows(result, "judge.heldout_calls"))
    agreement = coaches.report_rows(result.metrics)
    if agreement:
        lines += ["## Agreement with the coaches", "", coaches.REPORT_NOTE, ""]
        lines += _md_table(coaches.REPORT_HEADER, agreement)
    return "\n".join(lines)


def _principle_rows(result: HarnessResult) -> list[list[str]]:
    ids = sorted({n.split(".")[2] for n in result.metrics if n.startswith("judge.principle.")})
    return [[pid, fmt(result.metrics.get(f"judge.principle.{pid}.precision")),
             fmt(result.metrics.get(f"judge.principle.{pid}.recall")),
             fmt(result.metrics.get(f"judge.principle.{pid}.support"))] for pid in ids]


# --- JUnit ---------------------------------------------------------------------------------

def render_junit(result: HarnessResult) -> bytes:
    """One testcase per threshold check, so CI shows each failing metric by name."""
    suites = ET.Element("testsuites", name="roleplay eval", time=f"{result.seconds:.1f}")
    for section in result.sections:
        checks = [c for c in result.checks if c.metric.split(".", 1)[0] == section]
        suite = ET.SubElement(suites, "testsuite", name=f"roleplay.eval.{section}",
                              tests=str(len(checks)),
                              failures=str(sum(not c.passed for c in checks)), errors="0")
        props = ET.SubElement(suite, "properties")
        for name, value in (("k", str(result.k)), ("customer_model", result.customer_model),
                            ("eval_model", result.eval_model), ("backend", result.backend)):
            ET.SubElement(props, "property", name=name, value=value)
        for c in checks:
            case = ET.SubElement(suite, "testcase", classname=f"roleplay.eval.{section}",
                                 name=c.metric)
            if not c.passed:
                failure = ET.SubElement(case, "failure", message=c.describe(), type="threshold")
                failure.text = c.note
            else:
                out = ET.SubElement(case, "system-out")
                out.text = c.describe()
        if section == "personas":
            failing = [r for r in task_rows(result.runs) if r["first_failure"]]
            out = ET.SubElement(suite, "system-out")
            out.text = "\n".join(f"{r['persona']}/{r['script']} ({r['strategy']}) passed "
                                 f"{r['passed']}: {r['first_failure']}" for r in failing)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


# --- HTML ----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;
font-size:.9em;text-align:left;vertical-align:top}th{background:#f3f3f3}
.pass{color:#2e7d32;font-weight:600}.FAIL{color:#c62828;font-weight:700}
.banner{padding:.8em 1em;border-radius:6px;font-weight:600}
.banner.ok{background:#e8f5e9}.banner.bad{background:#ffebee}
img{max-width:100%}details{margin:.3em 0}pre{white-space:pre-wrap;background:#fafafa;padding:.5em}
.muted{color:#777}.wide{overflow-x:auto}
"""


def _h(text: object) -> str:
    return html.escape(str(text))


def _html_table(header: list[str], rows: list[list[str]], raw: set[int] | None = None) -> str:
    raw = raw or set()
    head = "".join(f"<th>{_h(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if i in raw else _h(c)}</td>" for i, c in enumerate(row))
        + "</tr>" for row in rows)
    # Wide tables (one column per metric) scroll instead of spilling off the page.
    return f"<div class='wide'><table><tr>{head}</tr>{body}</table></div>"


def _html_metrics(result: HarnessResult, prefix: str, names: dict[str, str]) -> str:
    rows = []
    for name, value, threshold, status, what in metric_rows(result, prefix, names):
        badge = f'<span class="{status}">{status}</span>' if status else ""
        rows.append([_h(name), _h(value), _h(threshold), badge, _h(what)])
    return _html_table(METRIC_HEADER, rows, raw={0, 1, 2, 3, 4})


def _img(uri: str | None, alt: str) -> str:
    return f'<img alt="{_h(alt)}" src="{uri}">' if uri else f'<p class="muted">no data: {_h(alt)}</p>'


def _conversation(run: RunResult) -> str:
    mood = " → ".join(_h(r.value) for r in run.mood_path)
    lines = [f"<b>{_h(run.persona_id)} / {_h(run.script_id)} run {run.run}</b> (mood {mood})"]
    for c in run.replies:
        flags = c.problems(run.language)
        mark = f' <span class="FAIL">[{_h("; ".join(flags))}]</span>' if flags else ""
        lines.append(f"trainee: {_h(c.trainee)}\ncustomer ({_h(c.rung.value)}"
                     f"{', regenerated ' + str(c.restarts) + 'x' if c.restarts else ''}): "
                     f"{_h(c.reply)}{mark}")
    if run.error:
        lines.append(f'<span class="FAIL">{_h(run.error)}</span>')
    return "<pre>" + "\n".join(lines) + "</pre>"


def _html_heldout_calls(result: HarnessResult) -> str:
    labels: dict[str, str] = {i: lab.quality for i, lab in result.call_labels.items()}
    calls = [e for e in result.evaluations if e.dataset == "heldout_calls"]
    return ("<h2>Held-out calls</h2>" + f"<p>{_h(HELDOUT_CALLS_NOTE)}</p>"
            + _html_metrics(result, "judge.heldout_calls", CALL_METRICS)
            + "<h3>Per language</h3>"
            + _html_table(LANGUAGE_HEADER, language_rows(result, "judge.heldout_calls"))
            + "<h3>Overall scores of the held-out calls, good vs bad</h3>"
            + _img(plots.scores_good_bad(calls, labels), "held-out call scores"))


def render_html(result: HarnessResult) -> str:
    """The self-contained page: verdict, tables, plots and the failing conversations."""
    ok = result.passed
    started = _h(result.started_at.isoformat(timespec="seconds"))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>roleplay eval</title>",
        f"<style>{_CSS}</style></head><body><h1>roleplay eval report</h1>",
        f"<p class='banner {'ok' if ok else 'bad'}'>{_h(headline(result))}</p>",
        (f"<p class='muted'>started {started}; thresholds from {_h(result.thresholds_file)}. "
        "How to read this page: evals/README.md.</p>"),
    ]
    for note in result.notes:
        parts.append(f"<p class='muted'>{_h(note)}</p>")
    if result.failures:
        parts.append("<h2>Failing metrics</h2><ul>"
                     + "".join(f"<li class='FAIL'>{_h(c.describe())}</li>" for c in result.failures)
                     + "</ul>")
    if "personas" in result.sections:
        parts.append("<h2>Persona contracts</h2>")
        parts.append(_html_metrics(result, "personas", PERSONA_METRICS))
        keys = list(PERSONA_METRICS)
        rows = [[pid] + [fmt(result.metrics.get(f"personas.{pid}.{k}")) for k in keys]
                for pid in persona_ids(result)]
        parts.append("<h3>Per persona</h3>" + _html_table(["persona", *keys], rows))
        parts.append("<h3>Per language</h3>" + _html_table(["language", *LANGUAGE_METRICS],
                                                          persona_language_rows(result)))
        if result.character_metrics:
            parts.append("<h3>Character check on hand-labelled replies</h3>"
                         f"<p class='muted'>{_h(character_labels.REPORT_NOTE)}</p>"
                         + _html_table(character_labels.REPORT_HEADER,
                                       character_labels.report_rows(result.metrics)))
        parts.append("<h3>Mood path of each persona under each strategy</h3>")
        parts.append(_img(plots.mood_paths(result.runs), "mood paths"))
        parts.append("<h3>Tasks</h3>" + _html_table(
            ["persona", "script", "strategy", "passed", "first failure"],
            [[r["persona"], r["script"], r["strategy"], r["passed"], r["first_failure"]]
             for r in task_rows(result.runs)]))
        failed = [r for r in result.runs if not r.passed]
        parts.append(f"<h3>Failed runs ({len(failed)})</h3>")
        parts += [f"<details><summary>{_h(r.persona_id)} / {_h(r.script_id)} run {r.run}: "
                  f"{_h(r.failures()[0])}</summary>{_conversation(r)}</details>" for r in failed]
        passed = [r for r in result.runs if r.passed]
        if passed:
            parts.append("<details><summary>Passed runs, for reading</summary>"
                         + "".join(_conversation(r) for r in passed) + "</details>")
    if "judge" in result.sections:
        labels: dict[str, str] = {i: lab.quality for i, lab in result.dev_labels.items()}
        parts.append("<h2>Judge calibration</h2>")
        parts.append(_html_metrics(result, "judge", JUDGE_METRICS))
        parts.append("<h3>Per language</h3>"
                     + _html_table(LANGUAGE_HEADER, language_rows(result, "judge")))
        parts.append("<h3>Overall scores, good vs bad</h3>")
        dev = [e for e in result.evaluations if e.dataset == "dev"]
        parts.append(_img(plots.scores_good_bad(dev, labels), "scores"))
        parts.append("<h3>Precision and recall of <code>violated</code> per principle</h3>")
        parts.append(_img(plots.principle_pr(result.metrics), "precision and recall"))
        parts.append(_html_table(["principle", "precision", "recall", "labelled violations"],
                                 _principle_rows(result)))
        if has_heldout_calls(result):
            parts.append(_html_heldout_calls(result))
        agreement = coaches.report_rows(result.metrics)
        if agreement:
            parts.append("<h2>Agreement with the coaches</h2>"
                         f"<p class='muted'>{_h(coaches.REPORT_NOTE)}</p>"
                         + _html_table(coaches.REPORT_HEADER, agreement))
        every = {**result.dev_labels, **result.call_labels}
        # A heading of its own: it lists the development set's and the held-out calls' rows.
        parts.append("<h2>Every evaluation</h2>" + _html_table(
            ["transcript", "variant", "label", "labelled violated", "overall", "violated",
             "quotes (verbatim)", "s", "error"],
            [[e.item_id, "held-out call" if e.dataset == "heldout_calls" else e.variant,
              every[e.item_id].quality if e.item_id in every else "",
              ", ".join(every[e.item_id].violated) if e.item_id in every else "",
              fmt(e.overall_score),
              ", ".join(p for p, s in e.statuses.items() if s == "violated"),
              f"{e.quotes} ({e.verbatim_quotes})", f"{e.seconds:.1f}", e.error or ""]
             for e in result.evaluations]))
    parts.append("<details><summary>All metrics (JSON)</summary><pre>"
                 + _h(json.dumps(result.metrics, indent=1)) + "</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
