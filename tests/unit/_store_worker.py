"""A second OS process on the store, driven by tests/unit/test_store_processes.py.

    python _store_worker.py hold URL SESSION     hold the answering mark: print "held", add a
                                                 trainee turn, wait for a line on stdin, then
                                                 add the reply, let go and print "released"
    python _store_worker.py race URL SESSION NAME N
                                                 N times: take the mark (retrying while
                                                 refused), add a trainee line and its reply;
                                                 print how many times it was refused
"""

from __future__ import annotations

import sys
import time

from roleplay.store import SessionBusy, SqlStore
from roleplay.transcript import Turn


def main(argv: list[str]) -> int:
    command, url, session_id = argv[:3]
    store = SqlStore(url)
    if command == "hold":
        with store.answering(session_id):
            store.add_turn(session_id, Turn(role="trainee", content="held line"))
            print("held", flush=True)
            sys.stdin.readline()
            store.add_turn(session_id, Turn(role="customer", content="held reply"))
        print("released", flush=True)
        return 0
    name, count = argv[3], int(argv[4])
    refused = done = 0
    while done < count:
        try:
            with store.answering(session_id):
                store.add_turn(session_id, Turn(role="trainee", content=f"{name} {done}"))
                time.sleep(0.01)  # a model call: gives the other process a chance to ask
                store.add_turn(session_id, Turn(role="customer", content=f"{name} {done} reply"))
            done += 1
        except SessionBusy:
            refused += 1
            time.sleep(0.002)
    print(f"refused {refused}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
