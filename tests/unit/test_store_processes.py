"""Two OS processes on one session, on SQLite and on PostgreSQL: the "still answering"
mark refuses the second while the first holds it, turns never interleave, and a process
killed with kill -9 loses nothing it had stored and holds the call only until its mark lapses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roleplay.store import SessionBusy, SqlStore
from roleplay.store.sql import ANSWER_LEASE_S

WORKER = str(Path(__file__).with_name("_store_worker.py"))


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, WORKER, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def test_another_process_is_refused_while_one_answers(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1", user="ann")
    holder = worker("hold", store_url, sid)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SessionBusy, match="still answering"), store.answering(sid):
            pass
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        assert holder.wait(timeout=60) == 0
    finally:
        holder.kill()
    with store.answering(sid):  # free again once the other let go
        assert [t.content for t in store.load(sid).turns] == ["held line", "held reply"]


def test_a_killed_holder_loses_nothing_and_its_mark_lapses(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1")
    holder = worker("hold", store_url, sid)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=60)
    assert [t.content for t in store.load(sid).turns] == ["held line"]  # committed, kept
    assert store.load(sid).awaiting_reply  # Retry asks for the reply the process never made
    with pytest.raises(SessionBusy), store.answering(sid):
        pass
    # The dead process renews nothing, so its mark lapses: seen from a clock lease_s later.
    later = SqlStore(store_url, clock=lambda: time.time() + ANSWER_LEASE_S + 1)
    with later.answering(sid):
        pass


def test_two_processes_writing_one_session_never_interleave(store_url: str) -> None:
    store = SqlStore(store_url)
    sid = store.create_session("p1")
    count = 15
    racers = [worker("race", store_url, sid, name, str(count)) for name in ("a", "b")]
    outputs = [racer.communicate(timeout=300)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    turns = store.load(sid).turns
    assert len(turns) == 2 * 2 * count
    for line, reply in zip(turns[::2], turns[1::2], strict=True):
        # Every trainee line is followed by its own reply, never by the other process's.
        assert (line.role, reply.role) == ("trainee", "customer")
        assert reply.content == f"{line.content} reply"
    for name in ("a", "b"):
        mine = [t.content for t in turns[::2] if t.content.startswith(name)]
        assert mine == [f"{name} {i}" for i in range(count)]
