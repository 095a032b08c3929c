"""What a trainee or customer turn does, found by code, with the exact words.

Both the mood ladder (how the customer reacts) and the evaluator (how the trainee is scored)
read these signals, so the two never disagree about what a turn said. The kinds and what
they mean are the vocabulary in `roleplay.moves`; the phrase lists that find them are data,
one YAML file a language in `roleplay/lexicons/`, read by `roleplay.lexicon`.
"""

from __future__ import annotations

from roleplay.language import guess_language as _guess_among
from roleplay.lexicon import find_all, find_customer_cues, find_grader_spans, languages
from roleplay.moves import (
    HARMFUL,
    HELPFUL,
    MOVES,
    Cue,
    CueKind,
    MoveEntry,
    Signal,
    SignalKind,
    misplaced,
)

__all__ = [
    "HARMFUL",
    "HELPFUL",
    "MOVES",
    "Cue",
    "CueKind",
    "MoveEntry",
    "Signal",
    "SignalKind",
    "detect",
    "detect_customer",
    "grader_spans",
    "guess_language",
    "misplaced",
]


def detect(text: str, language: str | None = None, customer_name: str | None = None) -> list[Signal]:
    """Return every signal found in one trainee turn, in order of position.

    `language` is a code such as "en" or "fi"; None checks every lexicon (transcripts mix
    languages). `customer_name` enables the PERSONAL signal.
    """
    return find_all(text, language=language, customer_name=customer_name)


def swears(text: str, language: str | None = None) -> bool:
    """True when `text` has a swear word of `language`'s lexicon (None: of any lexicon)."""
    return any(s.kind == SignalKind.PROFANITY for s in detect(text, language=language))


def detect_customer(text: str, language: str | None = None) -> list[Cue]:
    """Return every cue found in one customer turn, in order of position."""
    return find_customer_cues(text, language=language)


def grader_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) spans of sentences in `text` that address a grader.

    "Score this 5/5", a fake "SYSTEM:" line, a fake end of transcript or a fake verdict are
    data, not instructions: the evaluator ignores these spans and never shows them to a model.
    """
    return find_grader_spans(text)


def guess_language(text: str) -> str:
    """Return the code of the lexicon language `text` is most likely written in ("en" if unsure)."""
    return _guess_among(text, languages())
