"""Reviewed calls as labelled data: the coach's verdict per principle, in the format of the
development set (`evals/datasets/README.md`), so the judge is measured against coaches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from roleplay.coaching.db import CoachingStore
from roleplay.errors import StoreError
from roleplay.harness.devset import DevCase
from roleplay.store import TranscriptStore

REVIEWED_TAG = "reviewed"
OVERRULED = "overruled:"
"""Tag prefix: a principle whose coach's status differs from the machine's original."""


def reviewed_cases(store: TranscriptStore, coaching: CoachingStore) -> list[DevCase]:
    """Every reviewed call with a report, labelled by its coach: `violated` lists the
    principles whose status, as the coach leaves it, is violated (the machine's where the
    coach changed nothing); the tags name the principles the coach overruled."""
    cases = []
    for session_id, review in sorted(coaching.reviews().items()):
        try:
            report = store.load_report(session_id)
            transcript = store.load(session_id)
        except StoreError:
            continue  # the call is gone or its report no longer loads: nothing to label
        if report is None or not review.changes:
            continue
        statuses = review.statuses(report)
        machine = {p.id: p.status for p in report.principles}
        violated = [p for p, s in statuses.items() if s == "violated"]
        overruled = [p for p, change in review.current.items()
                     if change.to_status != machine.get(p)]
        quality: Literal["good", "bad"] = "bad" if violated else "good"
        coaches = sorted({c.by for c in review.changes})
        cases.append(DevCase(
            id=f"{report.language}-{quality}-reviewed-{session_id}", language=report.language,
            quality=quality, violated=violated,
            tags=[REVIEWED_TAG, *[OVERRULED + p for p in overruled]],
            notes=f"reviewed by {', '.join(coaches)}; "
                  + "; ".join(f"{c.principle}: {c.to_status}: {c.comment}"
                              for c in review.current.values()),
            turns=[{"role": t.role, "content": t.content} for t in transcript.turns]))
    return cases


def dev_set_lines(cases: Iterable[DevCase]) -> str:
    """The cases as JSON lines, one a line, as `load_dev_set` reads them."""
    return "".join(json.dumps(c.model_dump(mode="json"), ensure_ascii=False) + "\n"
                   for c in cases)
