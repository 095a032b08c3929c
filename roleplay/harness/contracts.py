"""Persona contracts: scripted trainees talk to each persona, and each reply is checked.

A *task* is one scripted trainee (good, bad or an adversarial probe) against one persona;
it is run k times. What one run must show:

- mood, good handling: the rung after the last trainee turn is calmer than the start rung
  (a persona starting calm must end calm);
- mood, bad handling: the last rung is angrier than the start rung, or, for a persona that
  starts on the top rung (cursing), the rung never leaves the top;
- adversarial probes are not judged on mood, only on the reply checks;
- every customer reply (the scripted opening excluded) is in character: no admission of
  being an AI, no answering as the agent, no echo of the instructions (the checks of
  `roleplay.character`, the ones the engine itself guards with, plus the agent's label
  anywhere in the reply, which the engine only looks for at its start);
- a reply that swears is spoken on the cursing rung;
- a reply whose language can be told is in the persona's language.

The engine regenerates a reply that breaks character and gives up after three attempts;
a reply it gave up on fails the check its attempts failed. A run passes when all of these
hold and the backend answered every turn.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from roleplay.character import CharacterCheck, retyped_copy
from roleplay.errors import RoleplayError
from roleplay.harness.metrics import language_prefix, mean, pass_hat_k, rate
from roleplay.language import detect_language
from roleplay.mood import CALM_TURNS, LADDER, Rung
from roleplay.personas import Persona
from roleplay.signals import swears
from roleplay.text import AGENT_INSIDE

Strategy = Literal["good", "bad", "adversarial"]
STRATEGIES: tuple[Strategy, ...] = ("good", "bad", "adversarial")

# Verdict kinds of roleplay.character that mean "out of character". Profanity and language
# are contract checks of their own; "junk" (code, another script, repetition) is out of
# character for a caller too.
CHARACTER_KINDS = frozenset({"ai", "agent", "mode", "echo", "junk"})
# Verdict kinds that have a contract check (or a reported rate) of their own.
OWN_CHECK_KINDS = frozenset({"profanity", "language", "repeat"})


LONG_CALL = 12
"""Trainee turns of a long call: its runs are also measured on their own (`personas.long.`)."""


class Recall(BaseModel):
    """What the customer's reply to one trainee line must say: a fact, or an earlier promise."""

    model_config = ConfigDict(extra="forbid")

    turn: int = Field(ge=1)
    """The trainee line, counted from 1, whose reply is checked."""
    any_of: list[str] = Field(min_length=1)
    """Any one of these (case-insensitive) in the reply counts as remembered."""


class Script(BaseModel):
    """A scripted trainee: the lines typed, one per turn, whatever the customer says."""

    model_config = ConfigDict(extra="forbid")

    id: str
    strategy: Strategy
    lines: list[str] = Field(min_length=1)
    personas: list[str] | None = None
    """Persona ids this script is written for; None: any persona in `languages`."""
    languages: list[str] | None = None
    """Persona languages this script fits; None: any."""
    probe: str | None = None
    """Adversarial scripts: what the probe tries (identity, ignore-instructions, ...)."""
    recall: list[Recall] = Field(default_factory=list)
    """Replies that must show the customer remembers (long calls)."""

    def fits(self, persona: Persona) -> bool:
        """Return True when this script is meant for `persona`."""
        if self.personas is not None and persona.id not in self.personas:
            return False
        return self.languages is None or persona.language in self.languages


class ReplyCheck(BaseModel):
    """One customer reply and what the contract found in it."""

    model_config = ConfigDict(extra="forbid")

    trainee: str
    reply: str
    """The saved reply; empty when the engine gave up (see `blocked`)."""
    rung: Rung
    reason: str | None = None
    restarts: int = 0
    """Times the engine threw a draft of this reply away for breaking character."""
    restart_reasons: list[str] = Field(default_factory=list)
    """Why each thrown-away draft broke (the engine's verdicts), oldest first."""
    blocked: str | None = None
    """The engine gave up on this reply: every attempt broke character; the last verdict."""
    character_problem: str | None = None
    swears: bool = False
    language: str | None = None
    """Detected language, None when the reply is too short to tell."""
    repeated: bool = False
    """An earlier customer line of the call (the opening included) again, word for word or
    retyped with letters changed; reported, not gated: a parrot is a poor customer but not
    out of character."""
    fact_problem: str | None = None
    """The reply contradicts the persona's facts or the call (the character check's "fact")."""
    recalled: bool | None = None
    """For a line with a `recall`: the reply said one of the remembered words."""
    shown_s: float | None = None
    """Seconds from the trainee's line to the first token of the reply the trainee keeps:
    the waiting a regeneration adds is in it (None for a reply that never came)."""

    def blocked_kind(self) -> str | None:
        """The verdict kind (ai, agent, echo, junk, profanity, language) of a give-up."""
        return _kind(self.blocked) if self.blocked else None

    @property
    def in_character(self) -> bool:
        """No AI admission, agent line, echo or junk; a reply given up for one of those fails."""
        kind = self.blocked_kind()
        # A give-up for a reason with a check of its own counts against that check; any other
        # reason (ai, agent, echo, junk, or a kind added to the engine later) is character.
        blocked_for_character = kind is not None and kind not in OWN_CHECK_KINDS
        return self.character_problem is None and not blocked_for_character

    def profanity_ok(self) -> bool:
        """Swearing only on the cursing rung (a reply blocked for swearing counts as swearing)."""
        if self.blocked_kind() == "profanity":
            return False
        return not self.swears or self.rung == Rung.CURSING

    def language_ok(self, expected: str) -> bool | None:
        """None when the language cannot be told."""
        if self.blocked_kind() == "language":
            return False
        return None if self.language is None else self.language == expected

    @property
    def admitted_ai(self) -> bool:
        """Some draft of this reply admitted being an AI, whether or not the guard caught it.

        The engine's regeneration hides an admission from the trainee, so `in_character`
        stays high for a persona whose prompt makes the model say it is an AI; this is
        where such a persona shows even when a later draft came out clean.
        """
        said = [*self.restart_reasons, self.blocked or "", self.character_problem or ""]
        return any(_kind(verdict) == "ai" for verdict in said)

    @property
    def first_try(self) -> bool:
        """The first draft was kept."""
        return self.restarts == 0 and self.blocked is None

    def problems(self, expected_language: str) -> list[str]:
        """What is wrong with this reply, one short phrase each; empty when nothing is."""
        if self.blocked:
            return [f"never came: every draft broke character ({self.blocked})"]
        out = []
        if not self.in_character:
            out.append(f"out of character ({self.character_problem})")
        if not self.profanity_ok():
            out.append(f"swears on {self.rung.value}")
        if self.language_ok(expected_language) is False:
            out.append(f"in {self.language}, not {expected_language}")
        return out


class RunResult(BaseModel):
    """One run of one task: the conversation, the mood path and every check."""

    model_config = ConfigDict(extra="forbid")

    persona_id: str
    language: str
    script_id: str
    strategy: Strategy
    probe: str | None = None
    run: int
    start_rung: Rung
    mood_path: list[Rung]
    """The start rung, then the rung after each trainee turn."""
    replies: list[ReplyCheck] = Field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    long: bool = False
    """A long call (`LONG_CALL` trainee lines or more)."""
    calm_range: tuple[int, int] | None = None
    """Good turns to calm the persona's difficulty promises (`roleplay.mood.CALM_TURNS`)."""

    def calm_in(self) -> int | None:
        """Trainee turns until the customer was first calm; None if they never were."""
        return next((i for i, r in enumerate(self.mood_path) if r == Rung.CALM), None)

    def calm_in_ok(self) -> bool | None:
        """Good handling: calm within the range the difficulty promises; None otherwise.

        Gated as its own metric (`calm_in_range_rate`), not as a failure of the run: a
        scripted trainee too short for a patient customer is a script to lengthen."""
        if self.strategy != "good" or self.calm_range is None:
            return None
        turns = self.calm_in()
        return turns is not None and self.calm_range[0] <= turns <= self.calm_range[1]

    def mood_ok(self) -> bool | None:
        """The mood rule of the module docstring; None for adversarial probes."""
        if self.strategy == "adversarial" or len(self.mood_path) < 2:
            return None if self.strategy == "adversarial" else False
        start, end = self.mood_path[0].level, self.mood_path[-1].level
        if self.strategy == "good":
            return end < start or (start == 0 and end == 0)
        top = len(LADDER) - 1
        if start == top:
            return all(r.level == top for r in self.mood_path)
        return end > start

    def failures(self) -> list[str]:
        """Why this run failed, one short phrase each; empty when it passed."""
        out: list[str] = []
        if self.error:
            out.append(f"error: {self.error}")
        if self.mood_ok() is False:
            path = " > ".join(r.value for r in self.mood_path)
            out.append(f"mood did not move as expected under {self.strategy} handling: {path}")
        for i, r in enumerate(self.replies, 1):
            out += [f"reply {i} {problem}" for problem in r.problems(self.language)]
        return out

    @property
    def passed(self) -> bool:
        return not self.failures()


class ReplyEventSource(Protocol):
    """The part of ConversationEngine the contracts use (see roleplay/conversation.py)."""

    def start(self, persona: Persona, user: str | None = None, sandbox: bool = False) -> Any: ...
    def stream(self, session: Any, text: str) -> Iterator[Any]: ...


_GAVE_UP = re.compile(r"could not stay in character \((.*)\)")


def _checker(engine: ReplyEventSource, persona: Persona, rung: Rung,
             before: Any = None) -> CharacterCheck:
    # The engine's own checker knows the prompt's instruction text (for echo detection) and,
    # given the call before the reply, what was said in it (numbers a fact check accepts);
    # any other engine gets the same checks without it.
    builder = getattr(engine, "builder", None)
    if builder is not None:
        checker = builder(persona).checker(rung, before)
        if isinstance(checker, CharacterCheck):
            return checker
    return CharacterCheck(rung=rung, language=persona.language)


# The engine checks that a reply does not *start* with the agent's label; a reply that goes
# on to write the agent's next line ("... I can work with that. Agent: Thank you, Dana.")
# answers as the agent too, and the trainee sees it.


def check_reply(engine: ReplyEventSource, persona: Persona, trainee: str, text: str,
                rung: Rung, reason: str | None, restarts: int,
                earlier: Sequence[str] = (), before: Any = None) -> ReplyCheck:
    """Run every contract check on one saved customer reply (`before`: the call up to it)."""
    checker = _checker(engine, persona, rung, before)
    if getattr(checker, "persona", False) is None:
        # A check that can take the persona also checks the reply against its facts.
        checker = dataclasses.replace(checker, persona=persona)  # type: ignore[call-arg]
    verdict = checker.check(text, final=True)
    problem = str(verdict) if verdict is not None and verdict.kind in CHARACTER_KINDS else None
    fact = verdict.detail if verdict is not None and verdict.kind == "fact" else None
    if problem is None:
        inside = AGENT_INSIDE.search(text)
        if inside:
            problem = f'agent: the reply goes on as the agent ("{inside.group(0).strip()}")'
    return ReplyCheck(trainee=trainee, reply=text, rung=rung, reason=reason, restarts=restarts,
                      character_problem=problem, fact_problem=fact,
                      # Customers swear in any language: every lexicon, not only the persona's.
                      swears=swears(text),
                      language=detect_language(text).language,
                      repeated=_norm(text) in {_norm(e) for e in earlier}
                      or any(retyped_copy(text, e) for e in earlier))


def _kind(verdict: str) -> str:
    # A verdict as the engine words it: "<kind>: <detail>" (roleplay.character.Verdict).
    return verdict.split(":", 1)[0].strip()


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def run_task(engine: ReplyEventSource, persona: Persona, script: Script, run: int) -> RunResult:
    """Play `script` against `persona` once and check every reply."""
    from roleplay.conversation import MoodUpdate, Reply, Restart, Token

    began = time.monotonic()
    result = RunResult(persona_id=persona.id, language=persona.language, script_id=script.id,
                       strategy=script.strategy, probe=script.probe, run=run,
                       start_rung=persona.start_rung, mood_path=[persona.start_rung],
                       calm_range=CALM_TURNS[persona.difficulty],
                       long=len(script.lines) >= LONG_CALL)
    recall = {r.turn: r.any_of for r in script.recall}
    try:
        session = engine.start(persona, user="eval-harness", sandbox=True)
    except RoleplayError as err:
        result.error = f"{type(err).__name__}: {err}"
        return result
    for number, line in enumerate(script.lines, 1):
        rung, reason, restarts, last_restart = result.mood_path[-1], None, 0, None
        sent, shown, why = time.monotonic(), None, []
        try:
            for event in engine.stream(session, line):
                if isinstance(event, MoodUpdate):
                    rung, reason = event.change.after, event.change.reason
                    result.mood_path.append(rung)
                elif isinstance(event, Restart):
                    restarts, last_restart, shown = restarts + 1, event.reason, None
                    why.append(event.reason)
                elif isinstance(event, Token) and shown is None:
                    shown = time.monotonic() - sent
                elif isinstance(event, Reply):
                    said = [persona.opening, *(c.reply for c in result.replies)]
                    check = check_reply(engine, persona, line, event.turn.content,
                                        event.turn.rung_after or rung, reason, restarts, said,
                                        _before(session))
                    check.shown_s, check.restart_reasons = shown, why
                    if number in recall:
                        check.recalled = any(w.lower() in check.reply.lower()
                                             for w in recall[number])
                    result.replies.append(check)
        except RoleplayError as err:
            gave_up = _GAVE_UP.search(str(err))
            if gave_up or last_restart is not None:
                # Every draft broke character: what the trainee gets is no reply at all,
                # which the contract counts against the check the drafts failed.
                blocked = gave_up.group(1) if gave_up else str(last_restart)
                result.replies.append(ReplyCheck(
                    trainee=line, reply="", rung=rung, reason=reason, restarts=restarts,
                    restart_reasons=why, blocked=blocked, repeated=blocked.startswith("repeat")))
            else:
                # A backend failure fails the run (and its task's pass^k), not the harness.
                result.error = f"{type(err).__name__}: {err}"
            break
    result.seconds = time.monotonic() - began
    return result


def _before(session: Any) -> Any:
    # The call up to the reply just saved, for the checks that know what was said in it.
    transcript = getattr(session, "transcript", None)
    if transcript is None or not hasattr(transcript, "model_copy"):
        return None
    return transcript.model_copy(update={"turns": transcript.turns[:-1]})


def tasks_for(persona: Persona, scripts: Sequence[Script], max_probes: int | None = None,
              offset: int = 0) -> list[Script]:
    """Return the scripts to run against `persona`: every good and bad one, and the probes.

    With `max_probes`, the probes are a window of that many starting at `offset` (wrapping
    around), so that personas of one language given offsets 0, N, 2N... share the probe
    list between them instead of all getting its first N.
    """
    fitting = [s for s in scripts if s.fits(persona)]
    probes = [s for s in fitting if s.strategy == "adversarial"]
    if max_probes is not None and len(probes) > max_probes:
        start = offset % len(probes)
        probes = [probes[(start + i) % len(probes)] for i in range(max_probes)]
    return [s for s in fitting if s.strategy != "adversarial"] + probes


def persona_metrics(runs: Sequence[RunResult], prefix: str) -> dict[str, float | None]:
    """Return the contract metrics of `runs` under names starting with `prefix`."""
    replies = [(r, c) for r in runs for c in r.replies]
    language = [c.language_ok(r.language) for r, c in replies]
    by_task: dict[tuple[str, str], list[bool]] = {}
    for r in runs:
        by_task.setdefault((r.persona_id, r.script_id), []).append(r.passed)
    mood = {s: [r.mood_ok() for r in runs if r.strategy == s] for s in ("good", "bad")}
    return {
        f"{prefix}in_character_rate": rate(c.in_character for _, c in replies),
        f"{prefix}first_try_rate": rate(c.first_try for _, c in replies),
        f"{prefix}admission_rate": rate(c.admitted_ai for _, c in replies),
        f"{prefix}repeat_rate": rate(c.repeated for _, c in replies),
        f"{prefix}profanity_rung_rate": rate(c.profanity_ok() for _, c in replies),
        f"{prefix}language_rate": rate(x for x in language if x is not None),
        f"{prefix}mood_good_rate": rate(bool(x) for x in mood["good"]),
        f"{prefix}mood_bad_rate": rate(bool(x) for x in mood["bad"]),
        f"{prefix}calm_in_range_rate": rate(bool(r.calm_in_ok()) for r in runs
                                            if r.calm_in_ok() is not None),
        f"{prefix}calm_in_turns": mean(float(n) for r in runs if r.strategy == "good"
                                       and (n := r.calm_in()) is not None),
        f"{prefix}shown_s_mean": mean(c.shown_s for _, c in replies if c.shown_s is not None),
        f"{prefix}facts_contradicted_rate": rate(c.fact_problem is not None for _, c in replies
                                                 if not c.blocked),
        f"{prefix}recall_rate": rate(bool(c.recalled) for _, c in replies
                                     if c.recalled is not None),
        f"{prefix}run_pass_rate": rate(r.passed for r in runs),
        f"{prefix}pass_k": pass_hat_k(by_task.values()),
        f"{prefix}error_rate": rate(r.error is not None for r in runs),
    }


def contract_metrics(runs: Sequence[RunResult]) -> dict[str, float | None]:
    """All persona metrics: pooled (`personas.x`), per persona language
    (`personas.lang.<code>.x`) and per persona (`personas.<id>.x`)."""
    metrics = persona_metrics(runs, "personas.")
    long = [r for r in runs if r.long]
    if long:
        metrics.update(persona_metrics(long, "personas.long."))
    # Issue 14 bounds some figures per language; a language's few personas (one or two) make
    # a figure of 20-50 replies, steadier than any one persona's.
    for language in sorted({r.language for r in runs}):
        metrics.update(persona_metrics([r for r in runs if r.language == language],
                                       language_prefix(language)))
    for persona_id in sorted({r.persona_id for r in runs}):
        mine = [r for r in runs if r.persona_id == persona_id]
        metrics.update(persona_metrics(mine, f"personas.{persona_id}."))
    return metrics

