"""Backpressure: replies beyond the model's slots wait in line, told their place and roughly
how long; one that waits too long fails with Retry offered and its line kept; a reply
waiting for a slot still goes before background scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_engine import FakeEngine, fake_evaluate

from roleplay.config import Settings
from roleplay.report import render_markdown
from roleplay.slots import ModelSlots, ordinal, waiting_text
from roleplay.store import SqliteStore
from roleplay.web.actions import Identity, WebApp

DATA = Path(__file__).parent / "data" / "personas"
ANN = Identity("ann", "trainee", "ann-browser")
BOB = Identity("bob", "trainee", "bob-browser")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_slots_serve_first_come_first_served_and_estimate_from_recent_replies() -> None:
    clock = Clock()
    slots = ModelSlots(capacity=2, clock=clock)
    a, b, c, d, e = (slots.join() for _ in range(5))
    assert a.holding and b.holding and slots.busy == 2
    assert [t.position for t in (a, b, c, d, e)] == [0, 0, 1, 2, 3]
    assert c.estimate() is None  # no reply timed yet: no number made up
    clock.now += 4.0
    a.leave()
    assert c.holding and c.waited == 4.0 and [d.position, e.position] == [1, 2]
    clock.now += 2.0
    b.leave()  # replies took 4 s and 6 s: 5 s a round of two
    assert d.holding and e.position == 1 and e.estimate() == 5.0
    f, g = slots.join(), slots.join()
    assert (f.position, g.position) == (2, 3) and g.estimate() == 10.0
    f.leave()  # a trainee who gives up leaves the line; the next moves up
    assert g.position == 2 and slots.waiting == 2
    f.leave()  # leaving twice changes nothing
    assert slots.waiting == 2 and slots.busy == 2


def test_a_slot_handed_on_wakes_the_waiter() -> None:
    slots = ModelSlots(capacity=1)
    first, second = slots.join(), slots.join()
    assert not second.wait(0)
    first.leave()
    assert second.wait(0) and second.holding


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"),
                                     (11, "11th"), (12, "12th"), (13, "13th"), (21, "21st"),
                                     (102, "102nd"), (111, "111th")])
def test_ordinal(n: int, text: str) -> None:
    assert ordinal(n) == text


def test_the_waiting_text_says_the_place_the_time_and_that_the_line_is_kept() -> None:
    text = waiting_text(3, 7.4, 2)
    assert "3rd in line" in text and "about 7 s" in text and "all 2" in text
    assert "saved" in text
    assert "about" not in waiting_text(1, None, 1)


@pytest.fixture
def app(tmp_path: Path) -> WebApp:
    personas = tmp_path / "personas"
    personas.mkdir()
    (personas / "late-parcel.yaml").write_text(
        (DATA / "valid" / "minimal.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    store = SqliteStore(tmp_path / "db.sqlite3")
    engine = FakeEngine(store)
    engine.slots = ModelSlots(capacity=1, max_wait=60)
    return WebApp(engine, store, personas, Settings(personas_dir=personas), fake_evaluate,
                  render_markdown, files_dir=tmp_path / "files")


def test_a_reply_waiting_for_the_slot_shows_its_place_then_streams(app: WebApp) -> None:
    ann, bob = app.start("late-parcel", ANN), app.start("late-parcel", BOB)
    streaming = app.say(ann, "I'm sorry, Maria. Let me check.", ANN)
    while not next(streaming).messages[-1]["content"].startswith("Fine"):
        pass  # ann's reply holds the only slot, mid-stream
    waiting = app.say(bob, "Hello, how can I help?", BOB)
    shown = next(waiting)
    while shown.wait is None:
        shown = next(waiting)
    assert "1st in line" in shown.wait and shown.busy and shown.error is None
    # The trainee's line is already saved while it waits.
    assert app.store.load(bob.session_id).awaiting_reply
    # A reply waiting for a slot keeps background scoring (which waits for an idle gate) off
    # the model: chat goes first.
    assert not app.engine.gate.wait_idle(timeout=0)  # type: ignore[attr-defined]
    list(streaming)  # ann's reply finishes and hands the slot on
    views = list(waiting)
    assert views[-1].error is None and views[-1].wait is None and not views[-1].busy
    assert views[-1].messages[-1]["role"] == "assistant"
    assert not app.store.load(bob.session_id).awaiting_reply


def test_a_reply_that_waits_too_long_fails_with_retry_and_keeps_the_line(app: WebApp) -> None:
    slots = app.engine.slots  # type: ignore[attr-defined]
    slots.max_wait = 0.0
    bob = app.start("late-parcel", BOB)
    elsewhere = slots.join()  # another trainee's reply holds the only slot
    views = list(app.say(bob, "Hello, how can I help?", BOB))
    last = views[-1]
    assert last.error and "stayed busy" in last.error and "Retry" in last.error
    assert last.retry and not last.busy
    assert last.messages[-1] == {"role": "user", "content": "Hello, how can I help?"}
    assert app.store.load(bob.session_id).awaiting_reply and slots.waiting == 0
    elsewhere.leave()
    done = list(app.retry(bob, BOB))[-1]
    assert done.error is None and not done.retry
    turns = app.store.load(bob.session_id).turns
    assert [t.role for t in turns] == ["customer", "trainee", "customer"]
    assert turns[1].content == "Hello, how can I help?"
