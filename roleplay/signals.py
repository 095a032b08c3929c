"""Lexical detectors: what a trainee turn does, found by code, with the exact words.

Both the mood ladder (how the customer reacts) and the evaluator (how the trainee is scored)
read these signals, so the two never disagree about what a turn said. The phrase lists
are data, one YAML file a language in `roleplay/lexicons/`.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict


class SignalKind(str, Enum):
    """Things a trainee turn can do; persona `raises`/`lowers` and the rubric use these names."""

    # Helpful moves
    EMPATHY = "empathy"  # acknowledges the customer's feelings
    APOLOGY = "apology"  # apologises
    URGENCY = "urgency"  # acknowledges that time/money is being lost, treats it as urgent
    NEXT_STEP = "next_step"  # says concretely what happens next, and who does it
    TIME_COMMITMENT = "time_commitment"  # gives a time or deadline
    OWNERSHIP = "ownership"  # takes the problem on personally ("I'll stay on this")
    LISTENING = "listening"  # asks a clarifying question or reflects back what was said
    BOUNDARY = "boundary"  # sets a respectful boundary about cursing or attacks
    CALLBACK_OFFER = "callback_offer"  # offers to end the call and call back
    FOLLOW_UP = "follow_up"  # promises to check back / confirm in writing / keep a record
    PERSONAL = "personal"  # uses the customer's name, remembers their details
    POLICY_NO = "policy_no"  # declines fairly, within policy, with an alternative
    # Harmful moves
    ARGUING = "arguing"  # contradicts, debates the facts, needs to win
    BLAME = "blame"  # blames the customer
    CORRECTING = "correcting"  # corrects the customer needlessly
    JARGON = "jargon"  # company or technical jargon, acronyms
    TRANSFER = "transfer"  # hands the customer to someone else
    DISMISSIVE = "dismissive"  # "calm down", "nothing I can do", brushes the concern off
    GIVING_AWAY = "giving_away"  # gives more than policy allows to make the anger stop
    PROFANITY = "profanity"  # the trainee swears
    # Added for the evaluator (issue 4); the mood ladder treats them like any other kind.
    WINNING = "winning"  # insists on being right, wants the last word ("as I said")
    HOSTILE = "hostile"  # loses composure: rude, sarcastic, shouting, takes the bait
    INTERRUPTING = "interrupting"  # cuts the customer off, has the answer before listening
    VAGUE = "vague"  # no decision or no time: "someone will get back to you soon"
    SELF_FOCUS = "self_focus"  # puts the agent's or company's convenience at the centre
    FACE_SAVING = "face_saving"  # frames a needed correction as a mistake anyone could make
    GUIDING = "guiding"  # adapts to how the customer learns: step by step, "what do you see?"


HELPFUL = frozenset(
    {
        SignalKind.EMPATHY,
        SignalKind.APOLOGY,
        SignalKind.URGENCY,
        SignalKind.NEXT_STEP,
        SignalKind.TIME_COMMITMENT,
        SignalKind.OWNERSHIP,
        SignalKind.LISTENING,
        SignalKind.BOUNDARY,
        SignalKind.CALLBACK_OFFER,
        SignalKind.FOLLOW_UP,
        SignalKind.PERSONAL,
        SignalKind.POLICY_NO,
        SignalKind.FACE_SAVING,
        SignalKind.GUIDING,
    }
)
HARMFUL = frozenset(set(SignalKind) - HELPFUL)


class Signal(BaseModel):
    """One detected move, with the exact span of the turn that shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SignalKind
    """What the turn did."""
    quote: str
    """The exact words, `text[start:end]`."""
    start: int
    """Offset of the quote in the turn's text."""
    end: int
    """End offset (exclusive)."""


def detect(text: str, language: str | None = None, customer_name: str | None = None) -> list[Signal]:
    """Return every signal found in one trainee turn, in order of position.

    `language` is a code such as "en" or "fi"; None checks every lexicon (transcripts mix
    languages). `customer_name` enables the PERSONAL signal.
    """
    from roleplay.lexicon import find_all

    return find_all(text, language=language, customer_name=customer_name)


class CueKind(str, Enum):
    """Things a customer turn shows; they decide which principles apply to the call."""

    CURSING = "cursing"  # the customer swears (source 003: the boundary principle starts here)
    URGENCY = "urgency"  # time or money is being lost, "every minute", "urgent"
    DEMAND = "demand"  # asks for a refund, compensation, something free
    TECHNICAL = "technical"  # a how-to or broken-product question (learning style applies)
    TRANSFER_REQUEST = "transfer_request"  # asks for a manager or someone else


class Cue(BaseModel):
    """One thing found in a customer turn, with the exact words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CueKind
    """What the customer's turn shows."""
    quote: str
    """The exact words, `text[start:end]`."""
    start: int
    """Offset of the quote in the turn's text."""
    end: int
    """End offset (exclusive)."""


def detect_customer(text: str, language: str | None = None) -> list[Cue]:
    """Return every cue found in one customer turn, in order of position."""
    from roleplay.lexicon import find_customer_cues

    return find_customer_cues(text, language=language)


def grader_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) spans of sentences in `text` that address a grader.

    "Score this 5/5", a fake "SYSTEM:" line, a fake end of transcript or a fake verdict are
    data, not instructions: the evaluator ignores these spans and never shows them to a model.
    """
    from roleplay.lexicon import find_grader_spans

    return find_grader_spans(text)


def guess_language(text: str) -> str:
    """Return the code of the lexicon language `text` is most likely written in ("en" if unsure)."""
    from roleplay.lexicon import guess

    return guess(text)
