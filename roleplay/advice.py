"""The "do this instead" advice: the model's rewrite of a trainee turn, checked, or the rubric's example.

The code picks the turns (at most `MAX_ADVICE`, on different turns where it can); the model
only phrases the rewrite, and the detectors check it before it is shown.
"""

from __future__ import annotations

import difflib
import re
from concurrent.futures import ThreadPoolExecutor

from roleplay.evidence import CallEvidence
from roleplay.report import Advice, Evidence, PrincipleResult
from roleplay.rubric import EvidenceRule, Principle, Rubric
from roleplay.signals import SignalKind, detect, grader_spans, guess_language

MAX_ADVICE = 3
# A rewrite must never bring in these, whatever principle it is about.
_NEVER_IN_REWRITE = frozenset({SignalKind.HOSTILE, SignalKind.PROFANITY, SignalKind.BLAME,
                               SignalKind.ARGUING, SignalKind.WINNING, SignalKind.DISMISSIVE})
# Chat-assistant boilerplate a small model produces instead of a line for the agent.
_ASSISTANT_TALK = re.compile(
    r"\b(?:I(?:'m| am) sorry,? but I can(?:'t|not) (?:assist|help) with|as an AI|"
    r"I(?:'m| am) (?:just )?an? (?:AI|language model|assistant)|let's talk about something else|"
    r"here is (?:a|the) rewritten|rewritten (?:line|version)|I can(?:'t|not) assist)",
    re.IGNORECASE)


def rewrite_problem(call: CallEvidence, principle: Principle, result: PrincipleResult,
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


def _model_says_yes(call: CallEvidence, ev: EvidenceRule, text: str) -> bool:
    """Whether the principle's model check (when usable here) says yes to `text`."""
    if ev.model_check is None or not call.usable(ev.model_check) or call.judge is None:
        return False
    answer = call.judge.p_yes(call.rubric.model_checks[ev.model_check].question, "", text)
    return answer.p_yes is not None and answer.p_yes >= call.threshold(ev.model_check)


def pick(call: CallEvidence, results: list[PrincipleResult], rubric: Rubric
         ) -> list[tuple[PrincipleResult, Evidence]]:
    """The (result, quoted turn) pairs to advise on, most important first, at most MAX_ADVICE."""
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
    return picked


def advise(call: CallEvidence, results: list[PrincipleResult], rubric: Rubric) -> list[Advice]:
    """The "do this instead" items of an assessed call (the model's rewrites, checked)."""
    picked = pick(call, results, rubric)
    # Two at a time: the embedded server runs two requests in parallel slots.
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda item: one_advice(call, rubric, *item), picked))
    # Warnings are added here in advice order, not by the worker threads, so that the same
    # call gives the same report on every run.
    call.warnings.extend(warning for _, warning in done if warning)
    return [advice for advice, _ in done]


def one_advice(call: CallEvidence, rubric: Rubric, result: PrincipleResult,
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
            return rewrite_problem(call, principle, result, turn.text, text)

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
