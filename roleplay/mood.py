"""The mood ladder and the rules that move the customer along it.

Rungs, from source 003 (003_119b43093722ea27.txt): passive-angry (sarcastic), escalated-angry
(yelling, every minute costs money), cursing; `calm` is where good handling leads. This is
the only module that changes a rung. It is pure: the same turn on the same rung always gives
the same result, so tests and the eval harness can predict it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from roleplay.signals import MOVES, Signal, SignalKind, detect


class Rung(str, Enum):
    """A step of the ladder, calmest first."""

    CALM = "calm"
    PASSIVE_ANGRY = "passive-angry"
    ESCALATED_ANGRY = "escalated-angry"
    CURSING = "cursing"

    @property
    def level(self) -> int:
        return LADDER.index(self)


LADDER: list[Rung] = [Rung.CALM, Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY, Rung.CURSING]

T = TypeVar("T")


def by_rung(*, calm: T, passive_angry: T, escalated_angry: T, cursing: T) -> dict[Rung, T]:
    """Return a table with one value for every rung, in ladder order.

    Every rung is a required argument, so a table that forgets one fails where it is
    written, not with a KeyError in the middle of a call.
    """
    return {Rung.CALM: calm, Rung.PASSIVE_ANGRY: passive_angry,
            Rung.ESCALATED_ANGRY: escalated_angry, Rung.CURSING: cursing}

# Source 003: on the cursing rung only a boundary (or the offer to end the call and call
# back) reliably brings the customer back; kind words alone need to come in numbers.
_CURSING_BREAKERS = frozenset({SignalKind.BOUNDARY, SignalKind.CALLBACK_OFFER})


class MoodChange(BaseModel):
    """The result of one trainee turn: the rung before and after, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    before: Rung
    after: Rung
    reason: str
    """Shown to the trainee, e.g. "down: acknowledged the urgency, gave a time"."""
    signals: list[Signal]
    """Every signal detected in the turn, the ones that moved the rung and the rest."""

    @property
    def direction(self) -> int:
        """-1 calmer, 0 unchanged, +1 angrier."""
        return (self.after.level > self.before.level) - (self.after.level < self.before.level)


def _describe(kinds: Iterable[SignalKind], signals: list[Signal]) -> str:
    # What the customer heard in each move, in the vocabulary's words (`roleplay.moves`).
    parts = []
    for kind in kinds:
        move = MOVES[kind]
        text = move.heard
        if move.quoted:
            quote = next(s.quote for s in signals if s.kind == kind)
            text += f' ("{quote}")'
        parts.append(text)
    return ", ".join(parts)


def next_rung(
    current: Rung,
    signals: list[Signal],
    lowers: Iterable[SignalKind],
    raises: Iterable[SignalKind],
) -> MoodChange:
    """Apply the ladder rules to one appraised trainee turn.

    `lowers` and `raises` come from the persona: what calms this customer and what angers them.
    """
    present = {s.kind for s in signals}
    calming = [k for k in lowers if k in present]
    angering = [k for k in raises if k in present]

    if current == Rung.CURSING and not angering:
        breakers = [k for k in calming if k in _CURSING_BREAKERS]
        if breakers or len(calming) >= 2:
            why = breakers + [k for k in calming if k not in breakers]
            return MoodChange(before=current, after=Rung.ESCALATED_ANGRY,
                              reason=f"down: {_describe(why, signals)}", signals=signals)
        if calming:
            return MoodChange(before=current, after=current, signals=signals,
                              reason=f"no change: {_describe(calming, signals)}, but the cursing "
                              "customer needs a boundary or more than one calming move")
    # A harmful move outweighs a helpful one: customers remember the jab, not the apology.
    score = len(calming) - 2 * len(angering)
    if angering and score < 0:
        after = LADDER[min(current.level + 1, len(LADDER) - 1)]
        prefix = "up" if after != current else "no change (already at the top)"
        return MoodChange(before=current, after=after, signals=signals,
                          reason=f"{prefix}: {_describe(angering, signals)}")
    if calming and score > 0:
        after = LADDER[max(current.level - 1, 0)]
        prefix = "down" if after != current else "no change (already calm)"
        return MoodChange(before=current, after=after, signals=signals,
                          reason=f"{prefix}: {_describe(calming, signals)}")
    if calming or angering:
        return MoodChange(before=current, after=current, signals=signals,
                          reason=f"no change: {_describe(calming, signals)} but "
                          f"{_describe(angering, signals)}")
    return MoodChange(before=current, after=current, signals=signals,
                      reason="no change: nothing in the turn addressed the customer's feelings "
                      "or problem")


def appraise(
    text: str,
    current: Rung,
    lowers: Iterable[SignalKind],
    raises: Iterable[SignalKind],
    language: str | None = None,
    customer_name: str | None = None,
) -> MoodChange:
    """Detect the signals of one trainee turn and return the resulting mood change."""
    signals = detect(text, language=language, customer_name=customer_name)
    return next_rung(current, signals, lowers, raises)
