"""The model's slots: how many customer replies this process asks for at once, and the line
the others wait in, with their place in it and a rough estimate of the wait.

A model server answers a few requests at once (llama.cpp's `--parallel`); a request beyond
that waits inside the server, where nobody can see it. Waiting here instead lets the trainee
be told where they are ("2nd in line, about 8 s") and lets a wait that is too long end with
a message and a Retry, the trainee's line already saved:

    slots = ModelSlots(capacity=2, max_wait=90)
    ticket = slots.join()
    while not ticket.wait(1.0):          # False: still waiting; show ticket.position
        if ticket.waited > slots.max_wait: ticket.leave(); raise ...
    try: ... ask the model ...
    finally: ticket.leave()              # the next in line goes; the hold time is recorded

First come, first served. Background work (the scorer) does not take a slot: it waits until
no reply is being made or waited for (`ReplyGate`), so a reply always goes first.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from roleplay.errors import BackendError

RECENT = 20
"""Replies whose durations the estimate averages."""

WAIT_TICK = 1.0
"""Seconds between two Waiting events of a reply waiting for a model slot."""


@dataclass(frozen=True)
class Waiting:
    """Every model slot is busy: the reply is `position`-th in line, about `estimate` s away
    (None: no reply timed yet) with `capacity` slots; sent again every WAIT_TICK seconds."""

    position: int
    estimate: float | None
    capacity: int


class Ticket:
    """One request's place: waiting in line, then holding a slot until `leave()`."""

    def __init__(self, slots: ModelSlots):
        self._slots = slots
        self.joined = slots.clock()
        self.started: float | None = None
        """When the slot was granted (None while waiting)."""
        self.left = False

    @property
    def holding(self) -> bool:
        """True once the ticket has a slot (until it leaves)."""
        return self.started is not None and not self.left

    @property
    def waited(self) -> float:
        """Seconds spent waiting for a slot so far (or in all, once granted)."""
        end = self.started if self.started is not None else self._slots.clock()
        return end - self.joined

    @property
    def position(self) -> int:
        """1 for the next in line, 2 for the one after; 0 once the slot is held."""
        return self._slots.position(self)

    def estimate(self) -> float | None:
        """Rough seconds until this ticket gets a slot, from recent replies; None if unknown."""
        return self._slots.estimate(self.position)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until this ticket holds a slot; False if `timeout` seconds passed first."""
        return self._slots.wait(self, timeout)

    def leave(self) -> None:
        """Give the slot back (or the place in line); the next in line goes. Idempotent."""
        self._slots.leave(self)


class ModelSlots:
    """At most `capacity` tickets hold a slot at once; the rest wait, first come first served.

    `max_wait`: seconds a caller should wait before giving up (the caller decides; see
    Ticket.waited). `clock` is injectable so the estimate is tested without sleeping.
    """

    def __init__(self, capacity: int, max_wait: float = 90.0,
                 clock: Callable[[], float] = time.monotonic):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.max_wait = max_wait
        self.clock = clock
        self._cond = threading.Condition()
        self._line: deque[Ticket] = deque()
        self._holding = 0
        self._recent: deque[float] = deque(maxlen=RECENT)

    def join(self) -> Ticket:
        """Join the line; the ticket holds a slot at once if one is free and nobody waits."""
        ticket = Ticket(self)
        with self._cond:
            self._line.append(ticket)
            self._grant()
        return ticket

    @property
    def waiting(self) -> int:
        """How many tickets are waiting for a slot now."""
        with self._cond:
            return len(self._line)

    @property
    def busy(self) -> int:
        """How many slots are held now."""
        with self._cond:
            return self._holding

    def position(self, ticket: Ticket) -> int:
        with self._cond:
            try:
                return self._line.index(ticket) + 1
            except ValueError:
                return 0

    def estimate(self, position: int) -> float | None:
        """Seconds until the `position`-th in line is served: the mean recent hold time for
        each round of `capacity` replies ahead of it; None before any reply was timed."""
        if position <= 0:
            return 0.0
        with self._cond:
            if not self._recent:
                return None
            mean = sum(self._recent) / len(self._recent)
        rounds = (position + self.capacity - 1) // self.capacity
        return mean * rounds

    def wait(self, ticket: Ticket, timeout: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: ticket.started is not None, timeout)

    def leave(self, ticket: Ticket) -> None:
        with self._cond:
            if ticket.left:
                return
            ticket.left = True
            if ticket.started is None:
                self._line.remove(ticket)
            else:
                self._holding -= 1
                self._recent.append(self.clock() - ticket.started)
            self._grant()

    def _grant(self) -> None:
        # Called with the lock held: hand free slots to the front of the line.
        while self._line and self._holding < self.capacity:
            ticket = self._line.popleft()
            ticket.started = self.clock()
            self._holding += 1
        self._cond.notify_all()


def take_slot(slots: ModelSlots, tick: float = WAIT_TICK) -> Generator[Waiting, None, Ticket]:
    """Wait for a slot of `slots`, yielding where the reply is in line every `tick` seconds;
    return the held ticket (the caller leaves it). BackendError, saying the line is saved and
    to press Retry, after `slots.max_wait` seconds."""
    ticket = slots.join()
    try:
        while not ticket.wait(tick):
            if ticket.waited >= slots.max_wait:
                raise BackendError(
                    f"every model slot stayed busy for {slots.max_wait:g} s (many trainees "
                    "at once); your line is saved: press Retry in a moment")
            yield Waiting(ticket.position, ticket.estimate(), slots.capacity)
    except BaseException:
        ticket.leave()  # a timeout, or the page that stopped listening
        raise
    return ticket


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def waiting_text(position: int, estimate: float | None, capacity: int) -> str:
    """What the trainee is told while waiting: their place in line and roughly how long."""
    slots = "the model's slot is" if capacity == 1 else f"all {capacity} of the model's slots are"
    about = f", about {max(1, round(estimate))} s" if estimate is not None else ""
    return (f"Other trainees are being answered ({slots} busy): you are {ordinal(position)} in "
            f"line{about}. Your line is saved.")


class ReplyGate:
    """Busy while the engine appraises a line, warms a prompt or streams a reply.

    Background work on the same model server (`roleplay.scoring.Scorer`) waits for it to be
    idle before each of its calls, so a reply is never slowed by scoring.
    """

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._active = 0

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark the model as in use for the duration of the block."""
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    @property
    def is_busy(self) -> bool:
        """Whether a reply (or a warm-up) is being made now."""
        return self._active > 0

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is being made; False if `timeout` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)
