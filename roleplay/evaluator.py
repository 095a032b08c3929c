"""The evaluator chain: a transcript in, a typed report out.

The chain is a row of small steps that can each be checked (issue 4; on the embedded 1.5B
model one big judging prompt gives no signal at all):

1. Text in any turn that addresses a grader ("score this 5/5", a fake SYSTEM line, a fake end
   of transcript) is found by pattern and ignored by every later step: the transcript is data.
2. Deterministic detectors (`roleplay.signals.detect`) read every trainee turn, and customer
   cues (`detect_customer`) decide which principles apply (boundaries only once the customer
   curses, urgency only with an urgent customer, ...).
3. Where a principle is not lexical (empathy, a concrete next step) and the detectors found
   nothing, the judge model answers a yes/no question per turn; P(yes) from log-probabilities
   is compared with a threshold calibrated on the development set.
4. Each principle's status follows from that evidence by the rules in the rubric file.
   Quotes are cut by code from the turn they cite, and verified once more at the end: a quote
   that is not verbatim in its turn is dropped and logged, and a violation without evidence
   is not reported as a violation.
5. The model phrases "do this instead" rewrites of turns the code already picked; each rewrite
   is checked by the detectors and replaced by the rubric's example (and labelled so) if it
   fails after two retries.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from roleplay.errors import TranscriptError
from roleplay.judge import CheckResult, Judge
from roleplay.personas import Persona
from roleplay.report import STATUS_SCORE, Advice, EvaluationReport, Evidence, PrincipleResult
from roleplay.rubric import EvidenceRule, Principle, Rubric
from roleplay.signals import (
    Cue,
    CueKind,
    Signal,
    SignalKind,
    detect,
    detect_customer,
    grader_spans,
    guess_language,
)
from roleplay.transcript import Transcript

log = logging.getLogger(__name__)

MAX_ADVICE = 3
# A rewrite must never bring in these, whatever principle it is about.
_NEVER_IN_REWRITE = frozenset({SignalKind.HOSTILE, SignalKind.PROFANITY, SignalKind.BLAME,
                               SignalKind.ARGUING, SignalKind.WINNING, SignalKind.DISMISSIVE})
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Chat-assistant boilerplate a small model produces instead of a line for the agent.
_ASSISTANT_TALK = re.compile(
    r"\b(?:I(?:'m| am) sorry,? but I can(?:'t|not) (?:assist|help) with|as an AI|"
    r"I(?:'m| am) (?:just )?an? (?:AI|language model|assistant)|let's talk about something else|"
    r"here is (?:a|the) rewritten|rewritten (?:line|version)|I can(?:'t|not) assist)",
    re.IGNORECASE)


@dataclass
class _Turn:
    idx: int
    role: str
    text: str
    masked: str
    signals: list[Signal] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)

    def kinds(self) -> set[SignalKind]:
        return {s.kind for s in self.signals}


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Return `text` without the spans, stripped.

    The sentences are removed outright, not replaced by a marker: a turn with an injection
    appended must reach the model exactly as the same turn without it, or the injection
    would still move the model's answer a little.
    """
    out, pos = [], 0
    for s, e in spans:
        out.append(text[pos:s])
        pos = e
    out.append(text[pos:])
    return "".join(out).strip()


def mask_grader_text(text: str) -> str:
    """Return `text` with every sentence that addresses the grader replaced by a marker."""
    return _mask(text, grader_spans(text))


def _lead(text: str, limit: int = 200) -> str:
    """Return the first sentence of `text` (a verbatim substring), cut at `limit` characters."""
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0).strip()
        if sentence:
            return sentence[:limit].rstrip()
    return text.strip()[:limit].rstrip()


class _Call:
    """Everything the rules need about one transcript, computed once."""

    def __init__(self, transcript: Transcript, rubric: Rubric, judge: Judge | None,
                 persona: Persona | None):
        self.transcript = transcript
        self.rubric = rubric
        self.judge = judge
        self.persona = persona
        self.warnings: list[str] = []
        spans_of = [grader_spans(turn.content) for turn in transcript.turns]
        # The language is guessed without the grader-directed text: an English "score this
        # 5/5" must not switch a Finnish call to the English detectors.
        self.language = persona.language if persona else guess_language("\n".join(
            _mask(turn.content, spans) for turn, spans in zip(transcript.turns, spans_of)))
        customer_name = persona.customer.name if persona else None
        self.turns: list[_Turn] = []
        for idx, turn in enumerate(transcript.turns):
            spans = spans_of[idx]
            if spans:
                ignored = " ".join(turn.content[s:e].strip() for s, e in spans)
                self.warnings.append(f"turn {idx + 1}: ignored text addressed to the grader: "
                                     f"\"{ignored[:160]}\"")
            info = _Turn(idx=idx, role=turn.role, text=turn.content,
                         masked=_mask(turn.content, spans))
            if turn.role == "trainee":
                info.signals = [s for s in detect(turn.content, self.language, customer_name)
                                if not _overlaps(s.start, s.end, spans)]
            else:
                info.cues = [c for c in detect_customer(turn.content, self.language)
                             if not _overlaps(c.start, c.end, spans)]
            self.turns.append(info)
        self._drop_shared_jargon()
        self._drop_refused_offers()
        self.trainee = [t for t in self.turns if t.role == "trainee"]
        self._checks: dict[tuple[str, int], CheckResult] = {}

    def _drop_shared_jargon(self) -> None:
        # A term the customer used first is a shared word, not jargon aimed at them.
        heard = ""
        for turn in self.turns:
            if turn.role == "customer":
                heard += " " + turn.text.lower()
                continue
            turn.signals = [s for s in turn.signals
                            if not (s.kind == SignalKind.JARGON and s.quote.lower() in heard)]

    def _drop_refused_offers(self) -> None:
        # "I can't refund the whole year, but I can ..." refuses the refund: what sits inside
        # a fair "no" is not given away or handed on.
        refused = {SignalKind.GIVING_AWAY, SignalKind.TRANSFER}
        for turn in self.turns:
            nos = [(s.start, s.end) for s in turn.signals if s.kind == SignalKind.POLICY_NO]
            turn.signals = [s for s in turn.signals
                            if not (s.kind in refused and _overlaps(s.start, s.end, nos))]

    # --- applicability ----------------------------------------------------------------------

    def customer_turns_with(self, kind: CueKind) -> list[_Turn]:
        return [t for t in self.turns if t.role == "customer" and any(c.kind == kind for c in t.cues)]

    def _answered(self, turns: list[_Turn]) -> list[_Turn]:
        """The customer turns among `turns` that a trainee turn came after."""
        last_trainee = max((t.idx for t in self.trainee), default=-1)
        return [t for t in turns if t.idx < last_trainee]

    def trigger(self, condition: str) -> tuple[bool, _Turn | None, str]:
        """Return whether a condition holds, the customer turn that set it off, and why not."""
        if condition == "always":
            return True, None, ""
        kind = {"customer_curses": CueKind.CURSING, "customer_urgent": CueKind.URGENCY,
                "customer_demands": CueKind.DEMAND, "technical_issue": CueKind.TECHNICAL,
                "customer_asks_transfer": CueKind.TRANSFER_REQUEST}[condition]
        turns = self._answered(self.customer_turns_with(kind))
        if not turns and condition == "customer_urgent":
            # Source 003's escalated-angry customer is urgent by definition.
            customers = [t for t in self.turns if t.role == "customer"]
            rungs = [self.transcript.turns[t.idx].rung_after for t in customers]
            if customers and (any(r is not None and r.value == "escalated-angry" for r in rungs)
                              or (self.persona is not None
                                  and self.persona.start_rung.value == "escalated-angry")):
                turns = self._answered(customers)[:1]
        if turns:
            return True, turns[0], ""
        reasons = {
            "customer_curses": "The customer did not curse.",
            "customer_urgent": "The customer did not signal urgency (lost money or time).",
            "customer_demands": "The customer did not ask for a refund, credit or anything free.",
            "technical_issue": "The call was not about a technical or how-to problem.",
            "customer_asks_transfer": "The customer did not ask for someone else.",
        }
        return False, None, reasons[condition]

    def reply_after(self, turn: _Turn | None, nth: int = 0) -> _Turn:
        """The first trainee turn after `turn` (after the start when None)."""
        after = [t for t in self.trainee if turn is None or t.idx > turn.idx]
        return after[min(nth, len(after) - 1)] if after else self.trainee[-1]

    # --- model checks -----------------------------------------------------------------------

    def check(self, check_id: str, turn: _Turn) -> CheckResult | None:
        """P(yes) of a model check on one trainee turn; None when there is no judge."""
        if self.judge is None:
            return None
        key = (check_id, turn.idx)
        if key not in self._checks:
            before = [t for t in self.turns if t.idx < turn.idx and t.role == "customer"]
            customer = before[-1].masked if before else ""
            question = self.rubric.model_checks[check_id].question
            self._checks[key] = self.judge.p_yes(question, customer, turn.masked)
        return self._checks[key]

    def threshold(self, check_id: str) -> float:
        default = self.rubric.model_checks[check_id].default_threshold
        return self.judge.threshold(check_id, default, self.language) if self.judge else default

    def usable(self, check_id: str | None) -> bool:
        """Whether the judge may be asked this check for this call's language."""
        return (check_id is not None and self.judge is not None
                and self.judge.enabled(check_id, self.language))

    # --- evidence ---------------------------------------------------------------------------

    def evidence(self, turn: _Turn, quote: str) -> Evidence | None:
        """Evidence for `quote` in `turn`, or None (logged) when it is not verbatim there."""
        if quote and quote in self.transcript.turns[turn.idx].content:
            return Evidence(turn=turn.idx, quote=quote)
        log.warning("dropped a quote not found verbatim in turn %d: %r", turn.idx, quote)
        self.warnings.append(f"turn {turn.idx + 1}: dropped a quote that is not verbatim in it")
        return None


def _signal_hits(call: _Call, kinds: Iterable[SignalKind],
                 turns: list[_Turn] | None = None) -> list[tuple[_Turn, Signal]]:
    wanted = set(kinds)
    return [(t, s) for t in (turns if turns is not None else call.trainee)
            for s in t.signals if s.kind in wanted]


def _evidence_of(call: _Call, hits: list[tuple[_Turn, Signal]], limit: int = 3) -> list[Evidence]:
    out: list[Evidence] = []
    for turn, signal in hits:
        ev = call.evidence(turn, signal.quote)
        if ev is not None and ev not in out:
            out.append(ev)
        if len(out) >= limit:
            break
    return out


def _quoted(hits: list[tuple[_Turn, Signal]], limit: int = 2) -> str:
    quotes = []
    for turn, signal in hits[:limit]:
        quotes.append(f"turn {turn.idx + 1}: \"{signal.quote}\"")
    return "; ".join(quotes)


def _result(principle: Principle, status: str, explanation: str,
            evidence: list[Evidence] | None = None, raw: str | None = None) -> PrincipleResult:
    return PrincipleResult(id=principle.id, title=principle.title, status=status,  # type: ignore[arg-type]
                           score=STATUS_SCORE.get(status), evidence=evidence or [],
                           explanation=explanation, raw_output=raw)


def _model_good(call: _Call, principle: Principle,
                turns: list[_Turn]) -> tuple[list[_Turn], str | None, bool]:
    """Turns the model check says yes to, its raw output, and whether any check failed."""
    check_id = principle.evidence.model_check
    if check_id is None or not call.usable(check_id):
        return [], None, False
    threshold = call.threshold(check_id)
    yes: list[tuple[float, _Turn]] = []
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


def _standard(call: _Call, principle: Principle, trigger: _Turn | None) -> PrincipleResult:
    ev = principle.evidence
    turns = call.trainee
    bad_hits: list[tuple[_Turn, Signal]] = []
    soft_hits: list[tuple[_Turn, Signal]] = []
    for turn, signal in _signal_hits(call, ev.bad_signals, turns):
        if turn.kinds() & set(ev.excused_by):
            continue
        (soft_hits if turn.kinds() & set(ev.softened_by) else bad_hits).append((turn, signal))
    good_hits = _signal_hits(call, ev.good_signals, turns)
    partial_hits = _signal_hits(call, ev.partial_signals, turns)
    weak_hits = _signal_hits(call, ev.weak_signals, turns)

    raw: str | None = None
    model_turns: list[_Turn] = []
    model_failed = False
    if not good_hits and ev.model_check:
        model_turns, raw, model_failed = _model_good(call, principle, turns)

    good_evidence = _evidence_of(call, good_hits)
    for turn in model_turns[:1]:
        lead = _lead(turn.text)
        found = call.evidence(turn, lead)
        if found:
            good_evidence.append(found)
    has_good = bool(good_hits or model_turns)

    if bad_hits:
        evidence = _evidence_of(call, bad_hits) + good_evidence[:1]
        if has_good:
            return _result(principle, "partly", f"Mixed: {principle.violation} "
                           f"({_quoted(bad_hits)}), but also: {principle.good}", evidence, raw)
        return _result(principle, "violated", f"{principle.violation} ({_quoted(bad_hits)})",
                       evidence, raw)
    if soft_hits:
        return _result(principle, "partly", f"{principle.violation} ({_quoted(soft_hits)}), "
                       "but softened in the same turn.", _evidence_of(call, soft_hits), raw)
    if has_good:
        first_good = min([t.idx for t, _ in good_hits] + [t.idx for t in model_turns])
        fixes = [t.idx for t, _ in _signal_hits(call, ev.good_before, turns)]
        if fixes and first_good > min(fixes):
            fix_turn = next(t for t in turns if t.idx == min(fixes))
            late = good_evidence + _evidence_of(call, _signal_hits(call, ev.good_before,
                                                                   [fix_turn]), 1)
            return _result(principle, "partly", f"Done, but late: the turn {min(fixes) + 1} "
                           f"started on the fix before it. {principle.good}", late, raw)
        if weak_hits:
            return _result(principle, "partly", f"{principle.good} But vague in places "
                           f"({_quoted(weak_hits)}).", good_evidence + _evidence_of(call, weak_hits, 1),
                           raw)
        how = "" if good_hits else " (judged by the model)"
        return _result(principle, "met", f"{principle.good}{how}", good_evidence, raw)
    if partial_hits:
        return _result(principle, "partly", f"Only partly: {_quoted(partial_hits)}. "
                       f"{principle.good}", _evidence_of(call, partial_hits), raw)
    if model_failed:
        return _result(principle, "unscored", "The model's answers could not be read, and the "
                       "detectors found nothing either way; not scored.", [], raw)
    return _missing(call, principle, trigger, raw)


def _missing(call: _Call, principle: Principle, trigger: _Turn | None,
             raw: str | None) -> PrincipleResult:
    ev = principle.evidence
    status = ev.when_missing
    if status == "met":
        return _result(principle, "met", f"No sign of a problem in {len(call.trainee)} trainee "
                       "turns.", [], raw)
    due = {"first": call.trainee[0], "last": call.trainee[-1],
           "after_trigger": call.reply_after(trigger)}[ev.due]
    quote = _lead(due.text)
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
    where = f"turn {due.idx + 1}" if evidence else "the call"
    return _result(principle, "violated", f"Missing{note}: nothing in {where} or elsewhere "
                   f"shows it. {principle.violation}", evidence, raw)


def _cursing_boundary(call: _Call, principle: Principle, trigger: _Turn | None) -> PrincipleResult:
    ev = principle.evidence
    curses = call._answered(call.customer_turns_with(CueKind.CURSING))
    after = [t for t in call.trainee if trigger is not None and t.idx > trigger.idx]
    bad = _signal_hits(call, ev.bad_signals, after)
    boundary = _signal_hits(call, ev.good_signals, after)
    callback = _signal_hits(call, ev.partial_signals, after)
    if bad:
        return _result(principle, "violated", "The customer cursed and the agent answered in "
                       f"kind ({_quoted(bad)}). {principle.good}", _evidence_of(call, bad))
    if boundary:
        if callback and callback[0][0].idx < boundary[0][0].idx:
            return _result(principle, "partly", "Offered to end the call before setting a "
                           "boundary; set the boundary first, then offer the call back.",
                           _evidence_of(call, callback[:1] + boundary[:1]))
        return _result(principle, "met", f"Set a respectful boundary ({_quoted(boundary, 1)}).",
                       _evidence_of(call, boundary))
    if callback:
        return _result(principle, "partly", "Offered to end the call without first setting a "
                       f"boundary ({_quoted(callback, 1)}).", _evidence_of(call, callback))
    if len(curses) >= 2:
        due = call.reply_after(curses[1])
        evidence = [e for e in [call.evidence(due, _lead(due.text))] if e]
        return _result(principle, "violated", f"The customer kept cursing (turns "
                       f"{curses[0].idx + 1} and {curses[1].idx + 1}) and no boundary was set. "
                       f"{principle.good}", evidence)
    return _result(principle, "met", "The customer cursed once and the agent let it go, as "
                   "source 003 suggests for a first swear word.")


def _judge_principle(call: _Call, principle: Principle) -> PrincipleResult:
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


def _rewrite_problem(call: _Call, principle: Principle, result: PrincipleResult,
                     original: str, text: str) -> str | None:
    """Why a rewrite is unusable, or None when it passes the checks."""
    cleaned = text.strip()
    if len(cleaned) < 5 or len(cleaned) > 600:
        return "its length was implausible"
    if _ASSISTANT_TALK.search(cleaned):
        return "it was the model talking as an assistant, not as the agent"
    flat, before = " ".join(cleaned.lower().split()), " ".join(original.lower().split())
    if flat == before or difflib.SequenceMatcher(None, flat, before).ratio() > 0.9:
        return "it barely changed the original"
    if grader_spans(cleaned):
        return "it addressed the grader"
    kinds = {s.kind for s in detect(cleaned, call.language)}
    reintroduced = kinds & (set(principle.evidence.bad_signals) | _NEVER_IN_REWRITE)
    if reintroduced:
        return "it still contained " + ", ".join(sorted(k.value for k in reintroduced))
    ev = principle.evidence
    wanted = set(ev.good_signals) | set(ev.partial_signals)
    missing_move = not any(e.quote for e in result.evidence
                           if any(s.quote == e.quote and s.kind in ev.bad_signals
                                  for s in detect(original, call.language)))
    if missing_move and wanted and not kinds & wanted and not _model_says_yes(call, ev, cleaned):
        # The advice is about a move the trainee did not make: the rewrite has to make it.
        return "it did not show the missing move (" + ", ".join(sorted(k.value for k in wanted)) + ")"
    if call.language != "en" and guess_language(cleaned) != call.language:
        return f"it was not in the transcript's language ({call.language})"
    return None


def _model_says_yes(call: _Call, ev: EvidenceRule, text: str) -> bool:
    """Whether the principle's model check (when usable here) says yes to `text`."""
    if ev.model_check is None or not call.usable(ev.model_check) or call.judge is None:
        return False
    answer = call.judge.p_yes(call.rubric.model_checks[ev.model_check].question, "", text)
    return answer.p_yes is not None and answer.p_yes >= call.threshold(ev.model_check)


def _advice(call: _Call, results: list[PrincipleResult], rubric: Rubric) -> list[Advice]:
    order = {"violated": 0, "partly": 1}
    candidates = sorted(
        (r for r in results if r.status in order and r.evidence),
        key=lambda r: (order[r.status], -rubric.get(r.id).weight, rubric.ids.index(r.id)))
    # Prefer advice on different turns: three rewrites of the same line teach less.
    picked: list[tuple[PrincipleResult, Evidence]] = []
    for spread in (True, False):
        for result in candidates:
            if len(picked) >= MAX_ADVICE or any(r.id == result.id for r, _ in picked):
                continue
            used = {e.turn for _, e in picked}
            options = [e for e in result.evidence
                       if call.transcript.turns[e.turn].role == "trainee"
                       and (not spread or e.turn not in used)]
            if options:
                picked.append((result, options[0]))
    picked.sort(key=lambda item: candidates.index(item[0]))
    # Two at a time: the embedded server runs two requests in parallel slots.
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda item: _one_advice(call, rubric, *item), picked))
    # Warnings are added here in advice order, not by the worker threads, so that the same
    # call gives the same report on every run.
    call.warnings.extend(warning for _, warning in done if warning)
    return [advice for advice, _ in done]


def _one_advice(call: _Call, rubric: Rubric, result: PrincipleResult,
                ev: Evidence) -> tuple[Advice, str | None]:
    """One "do this instead" item (the model's checked rewrite, or the rubric's example),
    and the warning to show when the model's rewrites were rejected."""
    principle = rubric.get(result.id)
    turn = call.turns[ev.turn]
    before = [t for t in call.turns if t.idx < turn.idx and t.role == "customer"]
    rewrite, source, note = principle.good_example, "rubric_example", "no judge model was used"
    warning: str | None = None
    if call.judge is not None:

        def validate(text: str) -> str | None:
            return _rewrite_problem(call, principle, result, turn.text, text)

        attempt = call.judge.rewrite(
            title=principle.title, description=principle.description, quote=ev.quote,
            problem=result.explanation, good_example=principle.good_example,
            customer=before[-1].masked if before else "", agent=turn.masked,
            language=call.language, validate=validate)
        if attempt.text is not None:
            rewrite, source, note = attempt.text, "model", ""
        else:
            reasons = "; ".join(dict.fromkeys(attempt.rejections)) or "no answer"
            note = f"the model's rewrites were rejected ({reasons})"
            warning = f"advice for {principle.id}: {note}; showing the rubric's example instead"
    why = principle.good if source == "model" else (
        f"{principle.good} This is the rubric's example, not a rewrite of your words: {note}.")
    advice = Advice(turn=ev.turn, original=turn.text, rewrite=rewrite, principle=principle.id,
                    why=why, rewrite_source=source)  # type: ignore[arg-type]
    return advice, warning


def evaluate(transcript: Transcript, rubric: Rubric, judge: Judge | None = None,
             persona: Persona | None = None, advice: bool = True) -> EvaluationReport:
    """Score `transcript` against `rubric`; the judge model is optional (detectors only without).

    `advice=False` skips the "do this instead" rewrites, which never change a score (the eval
    harness uses it to measure scores faster).
    """
    if not any(t.role == "trainee" and t.content.strip() for t in transcript.turns):
        raise TranscriptError("the transcript has no trainee turn to evaluate")
    call = _Call(transcript, rubric, judge, persona)
    results = [_judge_principle(call, principle) for principle in rubric.principles]
    results = _verify(results, transcript, call.warnings)
    items = _advice(call, results, rubric) if advice else []
    if judge is None:
        call.warnings.append("no judge model: empathy and next-step were judged by phrase "
                             "detectors only, and advice shows the rubric's examples")
    else:
        off = [c for c in rubric.model_checks if not call.usable(c)]
        if off:
            call.warnings.append(f"the model's {', '.join(off)} check(s) are switched off for "
                                 f"language '{call.language}' (calibration found no signal); "
                                 "phrase detectors only")
    mood = [r.value for r in transcript.mood_path()] or None
    return EvaluationReport(
        overall_score=_overall(results, rubric), principles=results, advice=items,
        mood_path=mood, language=call.language,
        judge_model=judge.model_name if judge else None,
        warnings=list(dict.fromkeys(call.warnings)),
    )
