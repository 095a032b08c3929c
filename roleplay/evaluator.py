"""The evaluator chain: a transcript in, a typed report out.

The chain is a row of small steps that can each be checked (issue 4; on the embedded 1.5B
model one big judging prompt gives no signal at all):

1. Text in any turn that addresses a grader ("score this 5/5", a fake SYSTEM line, a fake end
   of transcript) is found by pattern and ignored by every later step: the transcript is data
   (this and step 2 are `roleplay.evidence`, read once per call).
2. Every trainee turn's moves are its appraisal (`roleplay.appraisal`): the phrase lists'
   hits plus the model layer's moves (multilingual), stored on the turn during a call or
   heard now by the appraiser passed in; customer cues (`detect_customer`) decide which
   principles apply (boundaries only once the customer curses, urgency only with an urgent
   customer, ...).
3. Where a principle is not lexical (empathy, a concrete next step) and the appraisal found
   nothing, the judge model answers a yes/no question per turn (an optional layer); P(yes)
   from log-probabilities is compared with a threshold calibrated on the development set.
4. Each principle's status follows from that evidence by the rules in the rubric file. It is
   `violated` only on evidence that can be quoted: a harmful move of a trainee turn, or the
   model's check saying no to every turn for a move that should be there; a move nobody
   heard where no check could say is `partly` at most (issue 15).
   Quotes are cut by code from the turn they cite, and verified once more at the end: a quote
   that is not verbatim in its turn is dropped and logged, and a violation without evidence
   is not reported as a violation.
5. The model phrases "do this instead" rewrites of turns the code already picked
   (`roleplay.advice`); each rewrite is checked by the detectors and replaced by the rubric's
   example (and labelled so) if it fails again on its retry.

This module holds steps 3-4 (the rules per principle), `assess` (steps 1-4), `build_report`
and `evaluate` (all five, synchronously); `roleplay.scoring.Scorer` runs the same steps
during a call instead.
"""

from __future__ import annotations

import logging

from roleplay.advice import advise
from roleplay.appraisal import Appraiser
from roleplay.errors import TranscriptError
from roleplay.evidence import (
    CallEvidence,
    TurnEvidence,
    evidence_of,
    lead_sentence,
    quoted,
    signal_hits,
)
from roleplay.judge import Judge
from roleplay.personas import Persona
from roleplay.report import (
    STATUS_SCORE,
    UNREACHABLE,
    Advice,
    EvaluationReport,
    Evidence,
    PrincipleResult,
)
from roleplay.rubric import Principle, Rubric
from roleplay.signals import CueKind, Signal
from roleplay.transcript import Transcript

__all__ = ["assess", "build_report", "evaluate"]

log = logging.getLogger(__name__)


def _result(principle: Principle, status: str, explanation: str,
            evidence: list[Evidence] | None = None, raw: str | None = None) -> PrincipleResult:
    return PrincipleResult(id=principle.id, title=principle.title, status=status,  # type: ignore[arg-type]
                           score=STATUS_SCORE.get(status), evidence=evidence or [],
                           explanation=explanation, raw_output=raw)


def _model_good(call: CallEvidence, principle: Principle,
                turns: list[TurnEvidence]) -> tuple[list[TurnEvidence], str | None, bool]:
    """Turns the model check says yes to, its raw output, and whether any check failed."""
    check_id = principle.evidence.model_check
    if check_id is None or not call.usable(check_id):
        return [], None, False
    threshold = call.threshold(check_id)
    yes: list[tuple[float, TurnEvidence]] = []
    raws, failed = [], False
    # One yes is enough, so asking stops there; on the embedded model each question costs
    # seconds, and the scan order puts the likeliest turn first.
    backward = call.rubric.model_checks[check_id].scan == "backward"
    for turn in (list(reversed(turns)) if backward else turns):
        if not turn.masked:
            continue  # nothing left once grader text is removed
        result = call.check(check_id, turn)
        if result is None:
            continue
        if result.p_yes is None:
            failed = True
            raws.append(f"turn {turn.idx + 1}: {result.error}: {result.raw}")
            continue
        raws.append(f"turn {turn.idx + 1}: P(yes)={result.p_yes:.2f} (threshold {threshold:.2f})")
        if result.p_yes >= threshold:
            yes.append((result.p_yes, turn))
            break
    yes_turns = [t for _, t in sorted(yes, key=lambda x: x[1].idx)]
    return yes_turns, f"{check_id}: " + "; ".join(raws) if raws else None, failed


def _standard(call: CallEvidence, principle: Principle, trigger: TurnEvidence | None) -> PrincipleResult:
    ev = principle.evidence
    turns = call.trainee
    bad_hits: list[tuple[TurnEvidence, Signal]] = []
    soft_hits: list[tuple[TurnEvidence, Signal]] = []
    for turn, signal in signal_hits(call, ev.bad_signals, turns):
        if turn.kinds() & set(ev.excused_by):
            continue
        (soft_hits if turn.kinds() & set(ev.softened_by) else bad_hits).append((turn, signal))
    good_hits = signal_hits(call, ev.good_signals, turns)
    partial_hits = signal_hits(call, ev.partial_signals, turns)
    weak_hits = signal_hits(call, ev.weak_signals, turns)

    raw: str | None = None
    model_turns: list[TurnEvidence] = []
    model_failed = False
    if not good_hits and ev.model_check:
        model_turns, raw, model_failed = _model_good(call, principle, turns)

    good_evidence = evidence_of(call, good_hits)
    for turn in model_turns[:1]:
        lead = lead_sentence(turn.text)
        found = call.evidence(turn, lead)
        if found:
            good_evidence.append(found)
    has_good = bool(good_hits or model_turns)

    if bad_hits:
        evidence = evidence_of(call, bad_hits) + good_evidence[:1]
        if has_good:
            return _result(principle, "partly", f"Mixed: {principle.violation} "
                           f"({quoted(bad_hits)}), but also: {principle.good}", evidence, raw)
        return _result(principle, "violated", f"{principle.violation} ({quoted(bad_hits)})",
                       evidence, raw)
    if soft_hits:
        return _result(principle, "partly", f"{principle.violation} ({quoted(soft_hits)}), "
                       "but softened in the same turn.", evidence_of(call, soft_hits), raw)
    if has_good:
        first_good = min([t.idx for t, _ in good_hits] + [t.idx for t in model_turns])
        fixes = [t.idx for t, _ in signal_hits(call, ev.good_before, turns)]
        if fixes and first_good > min(fixes):
            fix_turn = next(t for t in turns if t.idx == min(fixes))
            late = good_evidence + evidence_of(call, signal_hits(call, ev.good_before,
                                                                   [fix_turn]), 1)
            return _result(principle, "partly", f"Done, but late: the turn {min(fixes) + 1} "
                           f"started on the fix before it. {principle.good}", late, raw)
        if weak_hits:
            return _result(principle, "partly", f"{principle.good} But vague in places "
                           f"({quoted(weak_hits)}).", good_evidence + evidence_of(call, weak_hits, 1),
                           raw)
        how = "" if good_hits else " (judged by the model)"
        return _result(principle, "met", f"{principle.good}{how}", good_evidence, raw)
    if model_failed:
        # Before the partial hits: the model's yes could have made this "met", so a failed
        # check leaves the principle open rather than counting as a no.
        failure = call.judge.failure if call.judge else None
        if failure:
            return _result(principle, "unscored", f"Not scored: the model could not be reached "
                           f"({failure}); score the call again when it is back.", [], raw)
        return _result(principle, "unscored", "The model's answers could not be read, and the "
                       "detectors found nothing either way; not scored.", [], raw)
    if partial_hits:
        return _result(principle, "partly", f"Only partly: {quoted(partial_hits)}. "
                       f"{principle.good}", evidence_of(call, partial_hits), raw)
    return _missing(call, principle, trigger, raw)


def _missing(call: CallEvidence, principle: Principle, trigger: TurnEvidence | None,
             raw: str | None) -> PrincipleResult:
    ev = principle.evidence
    status = ev.when_missing
    if status == "met":
        return _result(principle, "met", f"No sign of a problem in {len(call.trainee)} trainee "
                       "turns.", [], raw)
    due = {"first": call.trainee[0], "last": call.trainee[-1],
           "after_trigger": call.reply_after(trigger)}[ev.due]
    quote = lead_sentence(due.text)
    evidence = [e for e in [call.evidence(due, quote)] if e]
    note = ""
    if ev.model_check and call.judge is None:
        note = " (no judge model: phrase detectors only)"
    elif ev.model_check and not call.usable(ev.model_check):
        note = (f" (phrase detectors only: the model's {ev.model_check} check is switched off "
                f"for this language by its calibration)")
    if status == "partly":
        return _result(principle, "partly", f"Not seen in this call{note}. {principle.good}",
                       evidence, raw)
    if not _judged_missing(call, principle, raw):
        # A missing move is a violation only on evidence that can be shown: the model's
        # check said no to every turn. Phrase lists and the appraisal not hearing a move in
        # the trainee's own words is no such evidence (issue 15: good Finnish and Hungarian
        # calls were told they never acknowledged the feelings).
        return _result(principle, "partly", f"Not heard in this call{note}; without a "
                       "harmful move or the model's check saying no, that is not counted as "
                       f"a violation. {principle.good}", evidence, raw)
    where = f"turn {due.idx + 1}" if evidence else "the call"
    return _result(principle, "violated", f"Missing: nothing in {where} or elsewhere shows "
                   f"it (the model's {ev.model_check} check said no to every trainee turn). "
                   f"{principle.violation}", evidence, raw)


def _judged_missing(call: CallEvidence, principle: Principle, raw: str | None) -> bool:
    """Whether the principle's model check was asked here and said no to every turn."""
    check_id = principle.evidence.model_check
    return check_id is not None and call.usable(check_id) and raw is not None


def _cursing_boundary(call: CallEvidence, principle: Principle, trigger: TurnEvidence | None) -> PrincipleResult:
    ev = principle.evidence
    curses = call.answered(call.customer_turns_with(CueKind.CURSING))
    after = [t for t in call.trainee if trigger is not None and t.idx > trigger.idx]
    bad = signal_hits(call, ev.bad_signals, after)
    boundary = signal_hits(call, ev.good_signals, after)
    callback = signal_hits(call, ev.partial_signals, after)
    if bad:
        return _result(principle, "violated", "The customer cursed and the agent answered in "
                       f"kind ({quoted(bad)}). {principle.good}", evidence_of(call, bad))
    if boundary:
        if callback and callback[0][0].idx < boundary[0][0].idx:
            return _result(principle, "partly", "Offered to end the call before setting a "
                           "boundary; set the boundary first, then offer the call back.",
                           evidence_of(call, callback[:1] + boundary[:1]))
        return _result(principle, "met", f"Set a respectful boundary ({quoted(boundary, 1)}).",
                       evidence_of(call, boundary))
    if callback:
        return _result(principle, "partly", "Offered to end the call without first setting a "
                       f"boundary ({quoted(callback, 1)}).", evidence_of(call, callback))
    if len(curses) >= 2:
        # No boundary heard is a missing move, not a quotable one: at most partly (a boundary
        # in the trainee's own words may have gone unheard; answering in kind is violated).
        due = call.reply_after(curses[1])
        evidence = [e for e in [call.evidence(due, lead_sentence(due.text))] if e]
        return _result(principle, "partly", f"The customer kept cursing (turns "
                       f"{curses[0].idx + 1} and {curses[1].idx + 1}) and no boundary was heard. "
                       f"{principle.good}", evidence)
    return _result(principle, "met", "The customer cursed once and the agent let it go, as "
                   "source 003 suggests for a first swear word.")


def _judge_principle(call: CallEvidence, principle: Principle) -> PrincipleResult:
    applies, trigger, why_not = call.trigger(principle.applies_when)
    if not applies:
        return _result(principle, "not_applicable", why_not)
    if principle.evidence.rule == "cursing_boundary":
        result = _cursing_boundary(call, principle, trigger)
    else:
        result = _standard(call, principle, trigger)
    if principle.soften_when and result.status == "violated":
        softened, _, _ = call.trigger(principle.soften_when)
        if softened:
            result = _result(principle, "partly", result.explanation + " The customer asked "
                             "for it, which softens it; explain what it means for them.",
                             result.evidence, result.raw_output)
    return result


def _verify(results: list[PrincipleResult], transcript: Transcript,
            warnings: list[str]) -> list[PrincipleResult]:
    """Drop any quote that is not verbatim in its turn; no violation stands without evidence."""
    checked = []
    for result in results:
        kept = []
        for ev in result.evidence:
            ok = 0 <= ev.turn < len(transcript.turns) and ev.quote in transcript.turns[ev.turn].content
            if ok:
                kept.append(ev)
            else:
                log.warning("%s: dropped unverifiable quote for turn %d: %r",
                            result.id, ev.turn, ev.quote)
                warnings.append(f"{result.id}: dropped a quote that is not verbatim in turn "
                                f"{ev.turn + 1}")
        update: dict[str, object] = {"evidence": kept}
        if result.status == "violated" and not kept:
            update.update(status="unscored", score=None,
                          explanation="A violation was suspected but no verifiable quote "
                          "supports it, so it is not scored.")
        checked.append(result.model_copy(update=update))
    return checked


def _overall(results: list[PrincipleResult], rubric: Rubric) -> float | None:
    total = weight = 0.0
    for result in results:
        if result.score is None:
            continue
        w = rubric.get(result.id).weight
        total += w * result.score
        weight += w
    return round(total / weight, 1) if weight else None

MODEL_MOVE_CONFIDENCE = 0.7
"""A model move of the appraisal counts as evidence from this confidence on. Chosen on the
development set (judge section on the embedded model, 2026-12-01; the held-out calls were not
used): at the appraisal's own per-kind thresholds (0.0 here) kappa 0.829, violated precision
0.925 and recall 0.723; at 0.7 kappa 0.859, precision 0.968, recall 0.758, AUC 0.996; the
phrase lists alone 0.866 / 0.968 / 0.771, AUC 0.993."""
HARMFUL_MOVE_CONFIDENCE: float | None = 0.8
"""A harmful model move counts from this confidence on (None: as a helpful one). A harmful
move alone makes a principle violated, so it needs more than a helpful one: on the
development set with 15 typed good calls (3 per language; 2026-12-01, the held-out calls not
used) 0.8 drops the one false violation left on a good call ("Så dumt, og ekstra surt...",
hostile at 0.76) and no labelled one; from 0.6 down harmful moves only added false ones."""


def assess(transcript: Transcript, rubric: Rubric, judge: Judge | None = None,
           persona: Persona | None = None, appraiser: Appraiser | None = None,
           min_confidence: float = MODEL_MOVE_CONFIDENCE,
           min_harmful: float | None = HARMFUL_MOVE_CONFIDENCE,
           ) -> tuple[CallEvidence, list[PrincipleResult]]:
    """Steps 1-4: the call's evidence and every principle's verified result (no rewrite)."""
    if not any(t.role == "trainee" and t.content.strip() for t in transcript.turns):
        raise TranscriptError("the transcript has no trainee turn to evaluate")
    call = CallEvidence(transcript, rubric, judge, persona, appraiser, min_confidence,
                        min_harmful)
    results = [_judge_principle(call, principle) for principle in rubric.principles]
    return call, _verify(results, transcript, call.warnings)


def build_report(call: CallEvidence, results: list[PrincipleResult],
                 items: list[Advice]) -> EvaluationReport:
    """The report of an assessed call with the advice given so far."""
    warnings = list(call.warnings)
    judge = call.judge
    if judge is None:
        warnings.append("no judge model: empathy and next-step were judged by phrase "
                        "detectors and the appraisal only, and advice shows the rubric's "
                        "examples")
    else:
        if judge.failure:
            warnings.append(f"{UNREACHABLE} ({judge.failure}); its "
                            "checks stopped at the first failure, the principles that needed "
                            "them are unscored (not counted), and advice shows the rubric's "
                            "examples; score the call again when the model is back")
        off = [c for c in call.rubric.model_checks if not call.usable(c)]
        if off:
            warnings.append(f"the model's {', '.join(off)} check(s) are switched off for "
                            f"language '{call.language}' (calibration found no signal); "
                            "phrase detectors and the appraisal only")
    mood = [r.value for r in call.transcript.mood_path()] or None
    return EvaluationReport(
        overall_score=_overall(results, call.rubric), principles=results, advice=items,
        mood_path=mood, language=call.language,
        judge_model=judge.model_name if judge else None,
        warnings=list(dict.fromkeys(warnings)),
    )


def evaluate(transcript: Transcript, rubric: Rubric, judge: Judge | None = None,
             persona: Persona | None = None, advice: bool = True,
             appraiser: Appraiser | None = None,
             min_confidence: float = MODEL_MOVE_CONFIDENCE,
             min_harmful: float | None = HARMFUL_MOVE_CONFIDENCE) -> EvaluationReport:
    """Score `transcript` against `rubric`; the judge model is optional (detectors only without).

    `appraiser` hears the trainee turns that have no stored moves (`Turn.moves`); without
    one such turns get the phrase lists alone. `advice=False` skips the "do this instead"
    rewrites, which never change a score (the eval harness uses it to measure scores faster).
    """
    # One breaker per run: the first backend failure stops this run's model calls only.
    run = judge.for_run() if judge is not None else None
    call, results = assess(transcript, rubric, run, persona, appraiser, min_confidence,
                           min_harmful)
    items = advise(call, results, rubric) if advice else []
    return build_report(call, results, items)
