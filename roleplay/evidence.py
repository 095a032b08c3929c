"""What the evaluator knows about one call: each turn with its signals, cues and evidence.

The transcript is read once: grader-directed text is found and removed from what later steps
see, the detectors run on every turn, and the judge's yes/no answers are cached per turn.
Quotes are cut from the turn they cite, and a quote that is not verbatim there is dropped.

A trainee turn's evidence is its appraisal (`roleplay.appraisal`): every phrase the lists
find (all hits, as the rules have always read them, not only the first per kind that the
appraisal keeps) plus the model layer's moves, taken from `Turn.moves` when the call stored
them and else from the appraiser the caller passes in. A model move counts from
`min_confidence` on (a harmful one from `min_harmful`), never on grader-directed text: a stored model move whose quote overlaps
a grader sentence is dropped, and an unstored turn with grader text is appraised without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from roleplay.appraisal import Appraiser, Move
from roleplay.judge import CheckResult, Judge
from roleplay.personas import Persona
from roleplay.report import Evidence
from roleplay.rubric import Rubric
from roleplay.signals import (
    HELPFUL,
    Cue,
    CueKind,
    Signal,
    SignalKind,
    detect,
    detect_customer,
    grader_spans,
    guess_language,
)
from roleplay.text import first_sentence
from roleplay.transcript import Transcript

log = logging.getLogger(__name__)


@dataclass
class TurnEvidence:
    """One turn of the call: its text, the text without grader sentences, what was detected."""

    idx: int
    role: str
    text: str
    masked: str
    signals: list[Signal] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)

    def kinds(self) -> set[SignalKind]:
        """The kinds of signal found in this turn."""
        return {s.kind for s in self.signals}


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
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
    """Return `text` without the sentences that address the grader (see `remove_spans`)."""
    return remove_spans(text, grader_spans(text))


MOSTLY_GRADER = 0.5
"""A line whose text outside grader sentences is under this share of it gets no model move."""


def model_signals(content: str, spans: list[tuple[int, int]], stored: list[Move] | None,
                  appraiser: Appraiser | None, language: str | None,
                  customer_name: str | None, min_confidence: float,
                  min_harmful: float | None = None) -> list[Signal]:
    """The model layer's moves on one trainee line, as signals quoting the line verbatim.

    Stored moves are used when the line has no grader text; otherwise (and for a line never
    appraised) the appraiser hears the line with the grader sentences removed, so an appended
    "score this 5/5" neither adds nor removes a move, and the quote is the longest stretch of
    the line outside them.
    """
    masked = remove_spans(content, spans)
    if spans and len(masked) < MOSTLY_GRADER * len(content.strip()):
        return []
    if stored is not None and (not spans or appraiser is None):
        # The call's own appraisal, with its quotes; on grader text only what lies outside.
        found = [(m, m.quote, m.start) for m in stored if not _overlaps(m.start, m.end, spans)]
    elif appraiser is not None and masked:
        quote, start = _longest_clean(content, spans)
        found = [(m, quote, start) for m in appraiser.appraise(masked, language,
                                                               customer_name).moves]
    else:
        return []
    return [Signal(kind=m.kind, quote=q, start=s, end=s + len(q)) for m, q, s in found
            if m.source == "model" and m.confidence >= (
                min_confidence if m.kind in HELPFUL or min_harmful is None else min_harmful)
            and q and content[s:s + len(q)] == q]


def _longest_clean(content: str, spans: list[tuple[int, int]]) -> tuple[str, int]:
    """The longest stripped stretch of `content` outside `spans`, and where it starts."""
    pieces, pos = [], 0
    for s, e in sorted(spans) + [(len(content), len(content))]:
        pieces.append((pos, s))
        pos = max(pos, e)
    best = ("", 0)
    for s, e in pieces:
        raw = content[s:e]
        text = raw.strip()
        if len(text) > len(best[0]):
            best = (text, s + raw.find(text))
    return best


def lead_sentence(text: str, limit: int = 200) -> str:
    """Return the first sentence of `text` (a verbatim substring), cut at `limit` characters."""
    return first_sentence(text, limit)


class CallEvidence:
    """Everything the rules need about one transcript, computed once."""

    def __init__(self, transcript: Transcript, rubric: Rubric, judge: Judge | None,
                 persona: Persona | None, appraiser: Appraiser | None = None,
                 min_confidence: float = 0.0, min_harmful: float | None = None):
        self.transcript = transcript
        self.rubric = rubric
        self.judge = judge
        self.persona = persona
        self.warnings: list[str] = []
        spans_of = [grader_spans(turn.content) for turn in transcript.turns]
        # The language is guessed without the grader-directed text: an English "score this
        # 5/5" must not switch a Finnish call to the English detectors.
        self.language = persona.language if persona else guess_language("\n".join(
            remove_spans(turn.content, spans) for turn, spans in zip(transcript.turns, spans_of)))
        customer_name = persona.customer.name if persona else None
        self.turns: list[TurnEvidence] = []
        for idx, turn in enumerate(transcript.turns):
            spans = spans_of[idx]
            if spans:
                ignored = " ".join(turn.content[s:e].strip() for s, e in spans)
                self.warnings.append(f"turn {idx + 1}: ignored text addressed to the grader: "
                                     f"\"{ignored[:160]}\"")
            info = TurnEvidence(idx=idx, role=turn.role, text=turn.content,
                         masked=remove_spans(turn.content, spans))
            if turn.role == "trainee":
                info.signals = [s for s in detect(turn.content, self.language, customer_name)
                                if not _overlaps(s.start, s.end, spans)]
                heard = info.kinds()
                info.signals += [s for s in model_signals(
                    turn.content, spans, turn.moves, appraiser, self.language, customer_name,
                    min_confidence, min_harmful) if s.kind not in heard]
                info.signals.sort(key=lambda s: s.start)
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

    def customer_turns_with(self, kind: CueKind) -> list[TurnEvidence]:
        return [t for t in self.turns if t.role == "customer" and any(c.kind == kind for c in t.cues)]

    def answered(self, turns: list[TurnEvidence]) -> list[TurnEvidence]:
        """The customer turns among `turns` that a trainee turn came after."""
        last_trainee = max((t.idx for t in self.trainee), default=-1)
        return [t for t in turns if t.idx < last_trainee]

    def trigger(self, condition: str) -> tuple[bool, TurnEvidence | None, str]:
        """Return whether a condition holds, the customer turn that set it off, and why not."""
        if condition == "always":
            return True, None, ""
        kind = {"customer_curses": CueKind.CURSING, "customer_urgent": CueKind.URGENCY,
                "customer_demands": CueKind.DEMAND, "technical_issue": CueKind.TECHNICAL,
                "customer_asks_transfer": CueKind.TRANSFER_REQUEST}[condition]
        turns = self.answered(self.customer_turns_with(kind))
        if not turns and condition == "customer_urgent":
            # Source 003's escalated-angry customer is urgent by definition.
            customers = [t for t in self.turns if t.role == "customer"]
            rungs = [self.transcript.turns[t.idx].rung_after for t in customers]
            if customers and (any(r is not None and r.value == "escalated-angry" for r in rungs)
                              or (self.persona is not None
                                  and self.persona.start_rung.value == "escalated-angry")):
                turns = self.answered(customers)[:1]
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

    def reply_after(self, turn: TurnEvidence | None, nth: int = 0) -> TurnEvidence:
        """The first trainee turn after `turn` (after the start when None)."""
        after = [t for t in self.trainee if turn is None or t.idx > turn.idx]
        return after[min(nth, len(after) - 1)] if after else self.trainee[-1]

    # --- model checks -----------------------------------------------------------------------

    def check(self, check_id: str, turn: TurnEvidence) -> CheckResult | None:
        """P(yes) of a model check on one trainee turn; None when there is no judge."""
        if self.judge is None:
            return None
        key = (check_id, turn.idx)
        if key not in self._checks:
            self._checks[key] = self.judge.p_yes(*self.check_args(check_id, turn))
        return self._checks[key]

    def check_args(self, check_id: str, turn: TurnEvidence) -> tuple[str, str, str]:
        """What the judge is shown for a check of `turn`: the question, the customer's line
        before it and the turn, both without grader text."""
        before = [t for t in self.turns if t.idx < turn.idx and t.role == "customer"]
        customer = before[-1].masked if before else ""
        return self.rubric.model_checks[check_id].question, customer, turn.masked

    def threshold(self, check_id: str) -> float:
        default = self.rubric.model_checks[check_id].default_threshold
        return self.judge.threshold(check_id, default, self.language) if self.judge else default

    def usable(self, check_id: str | None) -> bool:
        """Whether the judge may be asked this check for this call's language."""
        return (check_id is not None and self.judge is not None
                and self.judge.enabled(check_id, self.language))

    # --- evidence ---------------------------------------------------------------------------

    def evidence(self, turn: TurnEvidence, quote: str) -> Evidence | None:
        """Evidence for `quote` in `turn`, or None (logged) when it is not verbatim there."""
        if quote and quote in self.transcript.turns[turn.idx].content:
            return Evidence(turn=turn.idx, quote=quote)
        log.warning("dropped a quote not found verbatim in turn %d: %r", turn.idx, quote)
        self.warnings.append(f"turn {turn.idx + 1}: dropped a quote that is not verbatim in it")
        return None


def signal_hits(call: CallEvidence, kinds: Iterable[SignalKind],
                 turns: list[TurnEvidence] | None = None) -> list[tuple[TurnEvidence, Signal]]:
    wanted = set(kinds)
    return [(t, s) for t in (turns if turns is not None else call.trainee)
            for s in t.signals if s.kind in wanted]


def evidence_of(call: CallEvidence, hits: list[tuple[TurnEvidence, Signal]], limit: int = 3) -> list[Evidence]:
    out: list[Evidence] = []
    for turn, signal in hits:
        ev = call.evidence(turn, signal.quote)
        if ev is not None and ev not in out:
            out.append(ev)
        if len(out) >= limit:
            break
    return out


def quoted(hits: list[tuple[TurnEvidence, Signal]], limit: int = 2) -> str:
    quotes = []
    for turn, signal in hits[:limit]:
        quotes.append(f"turn {turn.idx + 1}: \"{signal.quote}\"")
    return "; ".join(quotes)
