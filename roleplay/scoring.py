"""Scoring during the call: every per-turn step done while the trainee types, End call only adds up.

On the embedded model each yes/no check costs seconds and each rewrite tens of seconds, so
a report computed at End call arrives minutes later (issue 15.4). The `Scorer` does that work
in the model's idle time instead:

    scorer = Scorer(rubric, judge, appraiser, store, personas=..., gate=engine.gate)
    scorer.prepare(session_id)         # after each stored customer reply; returns at once
    report = scorer.scores(session_id) # at End call: scores, with the rewrites ready so far
    for report in scorer.advice(session_id, report):  # one more rewrite each time
        ...                            # the last one has advice_status "ready"

`prepare` queues the session for one background worker thread, which (1) assesses the call
so far, asking the judge only the checks its rules need that are not answered yet, and (2)
writes the rewrites of what `advice.pick` shows. Before each model call the worker waits until
the engine's `ReplyGate` is idle, and it makes one call at a time, so a reply in flight
always goes first. Answers are kept in a `ResultCache` (in memory, and in the store's
database, so another process or a restart reuses them): checks by the model and the words it was
shown, rewrites by the principle, its status, the turn and the customer's line before it.

`evaluate()` stays the synchronous path (CLI, harness); given the same transcript the
scorer's statuses and scores are the same as evaluate's. A rewrite prepared mid-call may
have been asked with an earlier wording of the problem than evaluate would use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from roleplay.advice import one_advice, pick
from roleplay.appraisal import Appraisal, Appraiser
from roleplay.errors import RoleplayError, StoreError
from roleplay.evaluator import (
    HARMFUL_MOVE_CONFIDENCE,
    MODEL_MOVE_CONFIDENCE,
    assess,
    build_report,
)
from roleplay.evidence import CallEvidence
from roleplay.judge import Judge
from roleplay.personas import Persona
from roleplay.report import Advice, EvaluationReport, Evidence, PrincipleResult
from roleplay.rubric import Rubric
from roleplay.slots import ReplyGate
from roleplay.store import TranscriptStore
from roleplay.transcript import Transcript

log = logging.getLogger(__name__)

FRESH_FAILURE_S = 60.0
"""How long a failure of the worker's checks stands for End call's own (seconds)."""

class ResultCache:
    """Model answers by key: in memory, and in the store's `scoring_cache` table when given
    a store (so another app process, or this one after a restart, reuses them)."""

    def __init__(self, store: TranscriptStore | None = None):
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self._store = store

    @classmethod
    def for_store(cls, store: TranscriptStore) -> ResultCache:
        """A cache kept in `store`."""
        return cls(store)

    def get(self, key: str) -> str | None:
        """The value kept under `key`, or None."""
        with self._lock:
            if key in self._memory:
                return self._memory[key]
        if self._store is None:
            return None
        try:
            found = self._store.get_cached(key)
        except StoreError as err:
            # Only a speed-up: without the table the answer is asked again.
            log.warning("scoring cache read failed: %s", err)
            return None
        if found is not None:
            with self._lock:
                self._memory[key] = found
        return found

    def put(self, key: str, value: str) -> None:
        """Keep `value` under `key`."""
        with self._lock:
            self._memory[key] = value
        if self._store is not None:
            try:
                self._store.put_cached(key, value)
            except StoreError as err:
                log.warning("scoring cache write failed: %s", err)


class _Remembered:
    """An appraiser that hears each (line, language, name) once per scorer."""

    def __init__(self, appraiser: Appraiser):
        self.inner = appraiser
        self.name = appraiser.name
        self._seen: dict[tuple[str, str | None, str | None], Appraisal] = {}
        self._lock = threading.Lock()

    def appraise(self, text: str, language: str | None = None,
                 customer_name: str | None = None) -> Appraisal:
        key = (text, language, customer_name)
        with self._lock:
            found = self._seen.get(key)
        if found is None:
            found = self.inner.appraise(text, language, customer_name)
            with self._lock:
                self._seen[key] = found
        return found


Personas = Mapping[str, Persona] | Callable[[], Mapping[str, Persona]]


class Scorer:
    """Scores calls of a store against one rubric, preparing the work during the call."""

    def __init__(self, rubric: Rubric, judge: Judge | None, appraiser: Appraiser | None,
                 store: TranscriptStore, *, personas: Personas | None = None,
                 gate: ReplyGate | None = None, cache: ResultCache | None = None,
                 min_confidence: float = MODEL_MOVE_CONFIDENCE,
                 min_harmful: float | None = HARMFUL_MOVE_CONFIDENCE, advice: bool = True):
        self.rubric = rubric
        self.cache = cache or ResultCache.for_store(store)
        self.judge = judge.with_cache(self.cache) if judge is not None else None
        self.appraiser = _Remembered(appraiser) if appraiser is not None else None
        self.store = store
        self.gate = gate or ReplyGate()
        self.min_confidence = min_confidence
        self.min_harmful = min_harmful
        self.advice_on = advice
        self._personas = personas
        # One model call at a time, worker or caller; reentrant, since a rewrite's
        # check of itself asks the judge inside the rewrite's turn.
        self._model = threading.RLock()
        self._queue: queue.Queue[str] = queue.Queue()
        self._queued: set[str] = set()
        self._state = threading.Condition()
        self._working = 0
        self._checking: str | None = None  # the session whose checks the worker is asking
        # How many scores() of each session are asking their own checks.
        self._scoring: dict[str, int] = {}
        self._worker: threading.Thread | None = None
        # Why the last scores() of a session stopped asking the model: its advice() then
        # asks nothing either, so End call against a dead server costs one failed request.
        self._failed: dict[str, str] = {}
        # Why the worker's latest checks of a session failed, and when (time.monotonic()).
        self._worker_failed: dict[str, tuple[str, float]] = {}

    # --- during the call --------------------------------------------------------------

    def prepare(self, session_id: str) -> None:
        """Queue the per-turn work of `session_id` for the background worker; never blocks."""
        with self._state:
            if session_id in self._queued:
                return
            self._queued.add(session_id)
            self._working += 1
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="scorer", daemon=True)
                self._worker.start()
        self._queue.put(session_id)

    def idle(self, timeout: float | None = None) -> bool:
        """Block until every queued preparation is done; False if `timeout` passed first."""
        with self._state:
            return self._state.wait_for(lambda: self._working == 0, timeout)

    def _run(self) -> None:
        while True:
            session_id = self._queue.get()
            with self._state:
                self._queued.discard(session_id)
            try:
                self._prepare_now(session_id)
            except Exception:  # the worker must outlive one bad session; the log says why
                log.exception("preparing the scores of session %s failed", session_id)
            finally:
                with self._state:
                    self._working -= 1
                    self._state.notify_all()

    def _prepare_now(self, session_id: str) -> None:
        transcript, persona = self._load(session_id)
        if not any(t.role == "trainee" and t.content.strip() for t in transcript.turns):
            return
        run = self._run_judge()
        with self._state:
            # End call asking this call's checks itself: its answers are kept, so wait for
            # them rather than ask the same questions at the same time.
            self._state.wait_for(lambda: session_id not in self._scoring)
            self._checking = session_id
        try:
            # The checks the rules ask and no others: a principle already shown by a phrase
            # or a model move needs no check, and a scan stops at its first yes. Asking every
            # check of every turn cost the last turn two checks (21 s on the loaded machine)
            # that End call then waited for.
            call, results = self._assess(
                transcript, persona, run.gated(self._turn) if run is not None else None)
        finally:
            with self._state:
                if run is not None and run.failure:
                    self._worker_failed[session_id] = (run.failure, time.monotonic())
                else:
                    self._worker_failed.pop(session_id, None)
                self._checking = None
                self._state.notify_all()
        if not self.advice_on or (run is not None and run.failure):
            return  # the backend failed: nothing more to ask in this run
        for result, ev in pick(call, results, self.rubric):
            with self._state:
                if session_id in self._queued:
                    # A newer turn came: its checks go first, and these rewrites may be of
                    # problems it changes; the newer preparation writes what is still needed.
                    return
            self._advise(call, result, ev, wait=True)

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """The worker's turn at the model: after the reply in flight, one call at a time."""
        self.gate.wait_idle()
        with self._model:
            yield

    # --- at End call ------------------------------------------------------------------

    def scores(self, session_id: str) -> EvaluationReport:
        """The report of the call now: every score, the rewrites that are ready.

        Asks the model only for the checks the worker has not answered yet (none when the
        call was prepared), and never for a rewrite.
        """
        with self._state:
            # The worker's checks of this call are the scores' own: wait for them rather than
            # ask the same questions twice. A rewrite in progress does not hold the scores up.
            self._state.wait_for(lambda: self._checking != session_id)
            # If the call's latest checks failed just now, this run is broken too: a second
            # timeout on the same dead server would only double End call's wait. The failure
            # is used once and only while fresh, so Score again asks the model anew.
            found = self._worker_failed.pop(session_id, None)
            inherited = found[0] if found and time.monotonic() - found[1] < FRESH_FAILURE_S else None
            # Until this assessment is done the worker does not start on the same checks (on
            # the loaded machine both asked the last turn's check: 102 s instead of one).
            self._scoring[session_id] = self._scoring.get(session_id, 0) + 1
        try:
            transcript, persona = self._load(session_id)
            run = self._run_judge(inherited)
            call, results = self._assess(transcript, persona, run)
        finally:
            with self._state:
                self._scoring[session_id] -= 1
                if not self._scoring[session_id]:
                    del self._scoring[session_id]
                self._state.notify_all()
        with self._state:
            if run is not None and run.failure:
                self._failed[session_id] = run.failure
            else:
                self._failed.pop(session_id, None)
        if not self.advice_on:
            return build_report(call, results, []).model_copy(update={"advice_status": "off"})
        items, warnings, missing = [], [], 0
        for result, ev in pick(call, results, self.rubric):
            done = self._kept_advice(call, result, ev)
            if done is None and self.judge is None:
                # The rubric's example needs no model: it is ready at once.
                done = one_advice(call, self.rubric, result, ev)
            if done is None:
                missing += 1
                continue
            items.append(done[0])
            warnings += [done[1]] if done[1] else []
        call.warnings.extend(warnings)
        report = build_report(call, results, items)
        return report.model_copy(update={"advice_status": "pending" if missing else "ready"})

    def advice(self, session_id: str, report: EvaluationReport) -> Iterator[EvaluationReport]:
        """Yield `report` with the rewrites ready now, then again after each new one; the
        last has advice_status "ready" (or "off")."""
        if not self.advice_on:
            yield report.model_copy(update={"advice_status": "off"})
            return
        transcript, persona = self._load(session_id)
        with self._state:
            failed = self._failed.get(session_id)
        call = self._evidence(transcript, persona, self._run_judge(failed))
        picked = pick(call, report.principles, self.rubric)
        done: list[tuple[Advice, str | None] | None] = [
            self._kept_advice(call, r, ev) for r, ev in picked]
        base = report.warnings
        # Warnings of the advice come after the report's own; drop earlier advice warnings.
        base = [w for w in base if not w.startswith("advice for ")]

        def current() -> EvaluationReport:
            ready = [d for d in done if d is not None]
            status = "ready" if len(ready) == len(done) else "pending"
            warnings = list(dict.fromkeys(base + [w for _, w in ready if w]))
            return report.model_copy(update={"advice": [a for a, _ in ready],
                                             "warnings": warnings, "advice_status": status})

        yield current()
        for i, (result, ev) in enumerate(picked):
            if done[i] is None:
                done[i] = self._advise(call, result, ev, wait=False)
                yield current()

    # --- steps ------------------------------------------------------------------------

    def _load(self, session_id: str) -> tuple[Transcript, Persona | None]:
        transcript = self.store.load(session_id)
        personas = self._personas() if callable(self._personas) else self._personas
        persona = (personas or {}).get(transcript.persona_id or "")
        return transcript, persona

    def _run_judge(self, failure: str | None = None) -> Judge | None:
        """The judge for one scoring run, with its own breaker (already tripped: `failure`)."""
        return self.judge.for_run(failure) if self.judge is not None else None

    def _evidence(self, transcript: Transcript, persona: Persona | None,
                  judge: Judge | None) -> CallEvidence:
        return CallEvidence(transcript, self.rubric, judge, persona, self.appraiser,
                            self.min_confidence, self.min_harmful)

    def _assess(self, transcript: Transcript, persona: Persona | None, judge: Judge | None
                ) -> tuple[CallEvidence, list[PrincipleResult]]:
        return assess(transcript, self.rubric, judge, persona, self.appraiser,
                      self.min_confidence, self.min_harmful)

    def _advice_key(self, call: CallEvidence, result: PrincipleResult, ev: Evidence) -> str:
        turn = call.turns[ev.turn]
        before = [t.masked for t in call.turns if t.idx < turn.idx and t.role == "customer"]
        model = call.judge.model_name if call.judge else "none"
        text = "\x1f".join((model, result.id, result.status, ev.quote, turn.text,
                            before[-1] if before else "", call.language))
        return "advice:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _kept_advice(self, call: CallEvidence, result: PrincipleResult,
                     ev: Evidence) -> tuple[Advice, str | None] | None:
        found = self.cache.get(self._advice_key(call, result, ev))
        if found is None:
            return None
        data = json.loads(found)
        # The turn index is this call's: the same words may sit at another turn elsewhere.
        advice = Advice.model_validate(data["advice"]).model_copy(update={"turn": ev.turn})
        return advice, data["warning"]

    def _advise(self, call: CallEvidence, result: PrincipleResult, ev: Evidence,
                wait: bool) -> tuple[Advice, str | None]:
        if wait:
            self.gate.wait_idle()
        with self._model:
            kept = self._kept_advice(call, result, ev)
            if kept is not None:
                return kept
            try:
                advice, warning = one_advice(call, self.rubric, result, ev)
            except RoleplayError as err:
                # A backend that fails now must not lose the scores: the example stands in.
                # (The judge's errors carry our own redacted description, never a body.)
                log.warning("rewrite for %s failed: %s", result.id, err)
                principle = self.rubric.get(result.id)
                advice = Advice(turn=ev.turn, original=call.turns[ev.turn].text,
                                rewrite=principle.good_example, principle=principle.id,
                                why=f"{principle.good} This is the rubric's example: the model "
                                "could not be reached.", rewrite_source="rubric_example")
                return advice, f"advice for {principle.id}: the model failed ({err})"
        if call.judge is not None and call.judge.failure:
            # The example stood in for a dead server: not kept, so Score again asks anew.
            return advice, warning
        self.cache.put(self._advice_key(call, result, ev), json.dumps(
            {"advice": advice.model_dump(mode="json"), "warning": warning}))
        return advice, warning
