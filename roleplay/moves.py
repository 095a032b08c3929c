"""The trainee-move vocabulary: every kind of move, what it means and how the customer takes it.

`MOVES` is the one table of the kinds: the persona schema's hover text
(`personas.signal_help`), the reasons the mood ladder gives, the helpful/harmful split and
the rubric's check that its good and bad signals sit on the right side (`misplaced`) all
come from it, and a test fails when a kind has no entry. The types are re-exported by
`roleplay.signals`, where most code imports them; finding the moves in text is
`roleplay.lexicon`'s job. This module imports nothing of the project, so every module may
import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict


class SignalKind(str, Enum):
    """Things a trainee turn can do; persona `raises`/`lowers` and the rubric use these names.

    What each one means is its entry in `MOVES`.
    """

    EMPATHY = "empathy"
    APOLOGY = "apology"
    URGENCY = "urgency"
    NEXT_STEP = "next_step"
    TIME_COMMITMENT = "time_commitment"
    OWNERSHIP = "ownership"
    LISTENING = "listening"
    BOUNDARY = "boundary"
    CALLBACK_OFFER = "callback_offer"
    FOLLOW_UP = "follow_up"
    PERSONAL = "personal"
    POLICY_NO = "policy_no"
    ARGUING = "arguing"
    BLAME = "blame"
    CORRECTING = "correcting"
    JARGON = "jargon"
    TRANSFER = "transfer"
    DISMISSIVE = "dismissive"
    GIVING_AWAY = "giving_away"
    PROFANITY = "profanity"
    # Added for the evaluator (issue 4); the mood ladder treats them like any other kind.
    WINNING = "winning"
    HOSTILE = "hostile"
    INTERRUPTING = "interrupting"
    VAGUE = "vague"
    SELF_FOCUS = "self_focus"
    FACE_SAVING = "face_saving"
    GUIDING = "guiding"


class MoveEntry(NamedTuple):
    """One kind of trainee move, as trainers and the customer see it."""

    helps: bool
    """True for a helpful move, False for a harmful one."""
    means: str
    """What the move is, for a trainer writing `lowers`/`raises` or reading the rubric."""
    heard: str
    """What the customer heard, in the reason shown to the trainee ("down: apologised")."""
    quoted: bool = False
    """The reason quotes the trainee's words: "used jargon" alone does not say which word."""

    @property
    def help(self) -> str:
        """Return the hover text of the persona schema, e.g. "helpful: apologises"."""
        return f"{'helpful' if self.helps else 'harmful'}: {self.means}"


def _helps(means: str, heard: str, quoted: bool = False) -> MoveEntry:
    return MoveEntry(True, means, heard, quoted)


def _harms(means: str, heard: str, quoted: bool = False) -> MoveEntry:
    return MoveEntry(False, means, heard, quoted)


MOVES: dict[SignalKind, MoveEntry] = {
    SignalKind.EMPATHY: _helps("acknowledges the customer's feelings", "acknowledged the feelings"),
    SignalKind.APOLOGY: _helps("apologises", "apologised"),
    SignalKind.URGENCY: _helps("acknowledges that time or money is being lost",
                               "acknowledged the urgency"),
    SignalKind.NEXT_STEP: _helps("says concretely what happens next and who does it",
                                 "gave a concrete next step"),
    SignalKind.TIME_COMMITMENT: _helps("gives a time or a deadline", "gave a time"),
    SignalKind.OWNERSHIP: _helps("takes the problem on personally", "took ownership"),
    SignalKind.LISTENING: _helps("asks a clarifying question or reflects back",
                                 "listened and asked"),
    SignalKind.BOUNDARY: _helps("sets a respectful boundary about cursing or attacks",
                                "set a respectful boundary"),
    SignalKind.CALLBACK_OFFER: _helps("offers to end the call and call back when calmer",
                                      "offered to call back when calmer"),
    SignalKind.FOLLOW_UP: _helps("promises to check back or confirm in writing",
                                 "promised a follow-up"),
    SignalKind.PERSONAL: _helps("uses the customer's name, remembers their details",
                                "used the customer's name"),
    SignalKind.POLICY_NO: _helps("declines within policy and offers an alternative",
                                 "said no but offered what is possible"),
    SignalKind.FACE_SAVING: _helps("frames a needed correction as a mistake anyone makes",
                                   "made the mistake sound like one anyone makes"),
    SignalKind.GUIDING: _helps("adapts to how the customer learns, step by step",
                               "guided step by step"),
    SignalKind.ARGUING: _harms("contradicts, debates the facts, needs to win", "argued"),
    SignalKind.BLAME: _harms("blames the customer", "blamed the customer"),
    SignalKind.CORRECTING: _harms("corrects the customer needlessly",
                                  "corrected the customer", quoted=True),
    SignalKind.JARGON: _harms("company or technical jargon and acronyms",
                              "used jargon", quoted=True),
    SignalKind.TRANSFER: _harms("hands the customer to someone else", "offered a transfer"),
    SignalKind.DISMISSIVE: _harms("'calm down', 'nothing I can do', brushes it off",
                                  "brushed the concern off", quoted=True),
    SignalKind.GIVING_AWAY: _harms("gives more than policy allows to stop the anger",
                                   "gave something away"),
    SignalKind.PROFANITY: _harms("the trainee swears", "swore"),
    SignalKind.WINNING: _harms("insists on being right, wants the last word",
                               "insisted on having the last word"),
    SignalKind.HOSTILE: _harms("loses composure: rude, sarcastic, shouting", "lost composure"),
    SignalKind.INTERRUPTING: _harms("cuts the customer off, answers before listening",
                                    "cut the customer off"),
    SignalKind.VAGUE: _harms("no decision or no time ('someone will get back to you')",
                             "gave no decision and no time", quoted=True),
    SignalKind.SELF_FOCUS: _harms("puts the agent's or company's convenience first",
                                  "put the company's convenience first"),
}
"""Every trainee move: helpful or harmful, what it means, what the customer heard."""

HELPFUL = frozenset(kind for kind, move in MOVES.items() if move.helps)
HARMFUL = frozenset(kind for kind, move in MOVES.items() if not move.helps)



def misplaced(kinds: Iterable[SignalKind], helpful: bool) -> list[tuple[int, str, str]]:
    """Return (index, what is wrong, fix) for each of `kinds` on the wrong side of `helpful`.

    The rubric lists moves that show a principle met (helpful ones) or violated (harmful
    ones); a kind on the wrong side is a typo that would score every call backwards.
    """
    side, other = ("helpful", "harmful") if helpful else ("harmful", "helpful")
    fix = "list it under bad_signals" if helpful else "list it under good_signals"
    return [(i, f"'{kind.value}' is a {other} move ({MOVES[kind].means}), not a {side} one", fix)
            for i, kind in enumerate(kinds) if MOVES[kind].helps != helpful]

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
