"""Rewind and Try it: take a trainee turn again in a branch, and play the report's rewrite.

A branch is stored as turns that point at their parent turn (`roleplay.store`), so taking a
turn again copies nothing and the original call stays as it was. This module holds what a
branch *means*, independent of storage and of the UI:

- `rewind_position` checks that a turn can be taken again (a trainee turn of the call);
- `replay_advice` plays one "do this instead" item against the persona from that point, in
  a new branch, for up to `REPLAY_REPLIES` customer replies (the rewrite, then the
  trainee's own next line, so both paths are answered to the same follow-up);
- `compare` puts the two mood paths side by side and says whether the rewrite moved the
  mood the way the advice claims: calmer than the original line left the customer, where
  the two paths first differ.

Rungs only change in `roleplay.mood`, through the engine: a replay is an ordinary call of
the engine on a branch, whose rung before the rewrite is the rung the original line met.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from roleplay.conversation import MoodUpdate, Reply, ReplyEvent, Session
from roleplay.errors import RoleplayError
from roleplay.mood import Rung
from roleplay.personas import Persona
from roleplay.report import Advice
from roleplay.transcript import Transcript, Turn

REPLAY_REPLIES = 2
"""How many customer replies a Try it plays: the rewrite's, and the one to the next line."""

Outcome = Literal["calmer", "same", "angrier"]


class Step(BaseModel):
    """One trainee line of a path and what it did to the customer."""

    model_config = ConfigDict(extra="forbid")

    line: str
    before: Rung
    after: Rung
    reason: str = ""
    reply: str | None = None
    """The customer's answer; None when the call has none (yet)."""


class MoodPath(BaseModel):
    """A run of trainee lines from one rung: the original call's or the rewrite's."""

    model_config = ConfigDict(extra="forbid")

    steps: list[Step] = Field(default_factory=list)

    def rungs(self) -> list[Rung]:
        """The rung before the first line, then the rung after each line."""
        if not self.steps:
            return []
        return [self.steps[0].before, *(s.after for s in self.steps)]

    def describe(self) -> str:
        """"escalated-angry → cursing": the path as the report shows it."""
        return " → ".join(r.value for r in self.rungs())


class Replay(BaseModel):
    """A Try it: the original lines and the rewrite, from the same rung, side by side."""

    model_config = ConfigDict(extra="forbid")

    advice: Advice
    session_id: str
    branch: int | None = None
    """The branch the rewrite was played in (continue the call from it); None if not stored."""
    original: MoodPath
    rewrite: MoodPath
    outcome: Outcome
    """Where the rewrite left the customer against where the original line did, at the first
    step where the two paths differ (the same follow-up line comes after both)."""
    holds: bool
    """The advice's claim held: the rewrite left the customer calmer than the original
    line (or kept them from going up), or both left them calm, where nothing is calmer."""
    note: str
    """One sentence for the trainee: what the replay showed, including when it contradicts
    the advice."""


def rewind_position(transcript: Transcript, position: int) -> Turn:
    """The trainee turn at `position` (0-based, in the call's turns) that can be taken again.

    RoleplayError says why not: out of range, or a customer line (only your own turns can
    be taken again).
    """
    turns = transcript.turns
    trainee = [i for i, t in enumerate(turns) if t.role == "trainee"]
    if not trainee:
        raise RoleplayError("the call has no line of yours yet; there is nothing to take again")
    if not 0 <= position < len(turns):
        raise RoleplayError(f"turn {position} is not in the call (turns 0-{len(turns) - 1}); "
                            f"your lines are turns {_listed(trainee)}")
    if turns[position].role != "trainee":
        raise RoleplayError(f"turn {position} is the customer's; you can take again only your "
                            f"own lines (turns {_listed(trainee)})")
    return turns[position]


def trainee_number(transcript: Transcript, number: int) -> int:
    """The position in the call of the trainee's `number`-th line (1-based), as the CLI and
    the page count them; RoleplayError if there is no such line."""
    trainee = [i for i, t in enumerate(transcript.turns) if t.role == "trainee"]
    if not 1 <= number <= len(trainee):
        raise RoleplayError(f"there is no line {number} of yours in the call; it has "
                            f"{len(trainee)} (count from 1)")
    return trainee[number - 1]


def _listed(positions: list[int]) -> str:
    return ", ".join(str(p) for p in positions)


def path_from(transcript: Transcript, position: int, lines: int) -> MoodPath:
    """The stored path of up to `lines` trainee lines from `position` on, with the replies."""
    steps: list[Step] = []
    turns = transcript.turns
    for i in range(position, len(turns)):
        turn = turns[i]
        if turn.role == "trainee":
            if len(steps) == lines:
                break
            if turn.rung_before is None or turn.rung_after is None:
                raise RoleplayError(f"turn {i} was stored without its rungs; it cannot be "
                                    "compared")
            steps.append(Step(line=turn.content, before=turn.rung_before,
                              after=turn.rung_after, reason=turn.reason or ""))
        elif steps and steps[-1].reply is None:
            steps[-1].reply = turn.content
    return MoodPath(steps=steps)


def compare(advice: Advice, session_id: str, original: MoodPath, rewrite: MoodPath,
            branch: int | None = None) -> Replay:
    """Put the two paths side by side and judge the rewrite where they first differ: after
    the rewrite itself, or, when a patient customer shows nothing yet (two good turns a
    rung), after the same follow-up line. Equal all along is "same"."""
    if not original.steps or not rewrite.steps:
        raise RoleplayError("a path has no lines; there is nothing to compare")
    common = min(len(original.steps), len(rewrite.steps))
    at = next((i for i in range(common)
               if original.steps[i].after != rewrite.steps[i].after), common - 1)
    mine, theirs = original.steps[at].after, rewrite.steps[at].after
    outcome: Outcome = ("calmer" if theirs.level < mine.level
                        else "angrier" if theirs.level > mine.level else "same")
    holds = outcome == "calmer" or (mine == theirs == Rung.CALM)
    after = "the rewrite" if at == 0 else f"the rewrite and your next {at} line(s)"
    if outcome == "calmer":
        note = (f"After {after} the customer was {theirs.value}, calmer than after your "
                f"line ({mine.value}).")
    elif holds:
        note = "Both your line and the rewrite left the customer calm."
    elif outcome == "same":
        note = (f"The rewrite did not move the mood more than your line did: the customer "
                f"was {mine.value} either way. The advice claims more than this replay shows.")
    else:
        note = (f"After {after} the customer was {theirs.value}, angrier than after your line "
                f"({mine.value}): the replay contradicts the advice.")
    return Replay(advice=advice, session_id=session_id, branch=branch, original=original,
                  rewrite=rewrite, outcome=outcome, holds=holds, note=note)


class BranchingStore(Protocol):
    """The part of the transcript store a replay needs (`roleplay.store` implements it)."""

    def load(self, session_id: str, branch: int | None = None) -> Transcript: ...
    def current_branch(self, session_id: str) -> int: ...
    def branch(self, session_id: str, at: int, origin: Literal["rewind", "replay"] = "rewind"
               ) -> int: ...
    def use_branch(self, session_id: str, branch: int) -> None: ...


class Plays(Protocol):
    """The part of the conversation engine a replay needs (`ConversationEngine` has it)."""

    def stream(self, session: Session, text: str) -> Iterator[ReplyEvent]: ...


def _played(events: Iterable[ReplyEvent]) -> Step:
    update: MoodUpdate | None = None
    for event in events:
        if isinstance(event, MoodUpdate):
            update = event
        elif isinstance(event, Reply) and update is not None:
            change = update.change
            return Step(line=update.turn.content, before=change.before, after=change.after,
                        reason=change.reason, reply=event.turn.content)
    raise RoleplayError("the reply ended without being saved; try again")


def replay_advice(engine: Plays, store: BranchingStore, session_id: str,
                  advice: Advice, persona: Persona, replies: int = REPLAY_REPLIES) -> Replay:
    """Play `advice`'s rewrite from its turn in a new branch and compare the mood paths.

    The rewrite is answered, then the trainee's own next line (if the call has one) is
    played after it, up to `replies` customer replies in all. The branch stays stored (the
    trainee can continue from it); the call's current branch is the one it was before.
    A BackendError leaves what was played stored in the branch.
    """
    if replies < 1:
        raise RoleplayError("a replay needs at least one customer reply")
    played_from = store.current_branch(session_id)
    transcript = store.load(session_id)
    turn = rewind_position(transcript, advice.turn)
    if turn.content != advice.original:
        raise RoleplayError(f"turn {advice.turn} of session {session_id} is not the line this "
                            "advice is about; score the call again")
    original = path_from(transcript, advice.turn, replies)
    follow_ups = [s.line for s in original.steps[1:]]
    branch = store.branch(session_id, advice.turn, origin="replay")
    steps: list[Step] = []
    try:
        session = Session(persona=persona, transcript=store.load(session_id, branch),
                          user=None)
        for line in [advice.rewrite, *follow_ups]:
            steps.append(_played(engine.stream(session, line)))
    finally:
        store.use_branch(session_id, played_from)
    return compare(advice, session_id, original, MoodPath(steps=steps), branch)


class ReplayTally(BaseModel):
    """How often the advice held over many replays: the harness's measure of the advice."""

    model_config = ConfigDict(extra="forbid")

    items: int = 0
    calmer: int = 0
    same: int = 0
    angrier: int = 0
    held: int = 0

    def add(self, replay: Replay) -> None:
        self.items += 1
        setattr(self, replay.outcome, getattr(self, replay.outcome) + 1)
        self.held += replay.holds

    @property
    def share(self) -> float | None:
        """The share of items whose rewrite held; None with no items."""
        return self.held / self.items if self.items else None
