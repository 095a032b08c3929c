"""Checks a customer reply for the ways a small model breaks character.

A reply breaks character when it admits to being an AI, answers as the agent, echoes its
instructions, swears on a rung where the customer does not swear, or is not speech at all
(empty, punctuation, repetition, code, another script). `check` works on a partial reply
too, so the engine can stop a bad reply after a few tokens instead of waiting for its end;
`final=True` adds the checks that only make sense on a whole reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from roleplay.language import common_share
from roleplay.mood import Rung
from roleplay.signals import SignalKind, detect
from roleplay.text import AGENT_AT_START
from roleplay.text import words as _words


def _rx(*patterns: str) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


# "No, I'm not an AI" is the customer resisting, and stays allowed: every pattern is an
# affirmative statement about the speaker.
_AI = _rx(
    r"\b(?:I am|I'm|I’m|as|being) (?:just |only |merely )?an? (?:AI|A\.I\.|artificial intelligence|"
    r"(?:large )?language model|LLM|(?:AI |virtual |digital |helpful )?assistant|chat ?bot|bot)\b",
    r"\bI (?:was|am) (?:created|developed|trained|made|programmed) by\b",
    r"\b(?:Alibaba|Qwen|OpenAI|ChatGPT)\b",
    r"\bI (?:do not|don't|cannot|can't) (?:have|experience) (?:personal |real )?"
    r"(?:feelings|emotions|opinions|a body)\b",
    r"\bmy (?:training|programming|training data|knowledge cutoff)\b",
    # Finnish: "olen tekoäly", "kielimallina", "olen avustaja"
    r"\b(?:olen|olen vain|minä olen) (?:tekoäly|kielimalli|avustaja|botti|chatbot)\w*",
    r"\b(?:tekoälynä|kielimallina|avustajana)\b",
)

# Lines only the agent says. A customer may say "thank you" or "I understand", so these are
# the service phrases, not politeness in general.
_AGENT = _rx(
    r"\bhow (?:can|may|could) I (?:help|assist)\b",
    r"\b(?:thank you|thanks) for (?:calling|contacting|reaching out|your patience|holding)\b",
    r"\bis there anything else I can\b",
    r"\bI (?:can|will|'ll) (?:help|assist) you with (?:that|this)\b",
    r"\blet me (?:check|look into|look up|pull up) (?:that|this|your)\b",
    r"\bI understand your frustration\b",
    r"\b(?:we|I) apologi[sz]e for (?:the|any) inconvenience\b",
    r"\bcould you (?:please )?provide (?:me with )?(?:your|more)\b",
    r"\bwelcome to\b",
    r"\bmiten voin auttaa\b",
    r"\bkiitos (?:soitostasi|yhteydenotostasi|kärsivällisyydestäsi)\b",
    r"\bpahoittelen (?:aiheutunutta|tästä aiheutunutta) haittaa\b",
)

# Words of the prompt's machinery: a customer has no prompt, rungs or stage directions.
_ECHO = _rx(
    r"\b(?:system |my |the |this )prompt\b",
    r"\bmy instructions\b",
    r"\b(?:instructed|told) to (?:play|act|pretend|be the)\b",
    r"\brole[- ]?play\w*\b",
    r"\b(?:play|playing|in) (?:a |the |this )?(?:role|character)\b",
    r"\bmood (?:level|rung)\b",
    r"\brungs?\b",
    r"\bstage direction\w*\b",
    r"\bis now (?:calm|annoyed|angry|furious)\b",
    r"\b(?:passive|escalated)-angry\b",
    r"\brecorded support call\b",
    r"\bkehote\w*\b",
    r"\broolipel\w*\b",
)

_CODE = _rx(r"```", r"^\s*(?:def|class|import|from \w+ import|#include|function)\b",
            r"<\|[a-z_]+\|>", r"[{};]\s*$", r"\b\w+\(\)\s*[;{]")
# CJK, Thai, Cyrillic, Arabic: the embedded Qwen model drifts into Chinese when confused; no
# persona speaks these scripts.
_FOREIGN_SCRIPT = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u3040-\u30ff"
                             r"\u3400-\u9fff\uac00-\ud7af]")
# A parenthesis of more than a few words is the stage direction's style ("(Swears. One or two
# sentences.)"); a short acting cue such as "(sighs)" is removed by the engine instead.
_STAGE = re.compile(r"\((?:[^()\s]+\s+){4,}[^()]*\)")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

SHINGLE = 6
"""Words in a row that, found in both the reply and the instructions, count as an echo."""


COPIED = 0.6
"""Share of a reply's word triples found in one earlier line that makes the reply a copy."""


@dataclass(frozen=True)
class Verdict:
    """Why a reply broke character, and what it said.

    Kinds: ai, agent, echo, profanity, junk, language, repeat.
    """

    kind: str
    detail: str
    copied: str | None = None
    """For a repeat: the earlier line that was copied."""

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def shingles(text: str, size: int = SHINGLE) -> set[tuple[str, ...]]:
    """Return the runs of `size` consecutive words of `text`, lowercased."""
    words = _words(text)
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def near_copy(reply: str, line: str) -> bool:
    """Return True if most word triples of `reply` come from `line` (a copy, however cut)."""
    words = _words(reply)
    if len(words) < 4:
        return False  # "Okay." or "Hello?" said twice is how people talk
    mine = {tuple(words[i:i + 3]) for i in range(len(words) - 2)}
    theirs = shingles(line, 3)
    return len(mine & theirs) / len(mine) >= COPIED


def _first(patterns: list[re.Pattern[str]], text: str) -> str | None:
    for pattern in patterns:
        m = pattern.search(text)
        if m:
            return m.group(0)
    return None


@dataclass(frozen=True)
class CharacterCheck:
    """The checks for one customer turn: who speaks, on which rung, against which instructions."""

    rung: Rung
    language: str = "en"
    instructions: frozenset[tuple[str, ...]] = frozenset()
    """Shingles of the prompt's instruction text (not the example lines, which may be said)."""
    said: frozenset[str] = frozenset()
    """The customer's earlier lines in this call: the small model loops by copying them."""
    heard: frozenset[str] = frozenset()
    """The agent's lines in this call: copying one is answering as the agent."""

    def check(self, reply: str, final: bool = False) -> Verdict | None:
        """Return why `reply` breaks character, or None if it holds (so far, unless `final`)."""
        text = reply.strip()
        if AGENT_AT_START.match(text):
            return Verdict("agent", "the reply starts with the agent's label")
        for kind, patterns in (("ai", _AI), ("agent", _AGENT), ("echo", _ECHO)):
            hit = _first(patterns, text)
            if hit:
                return Verdict(kind, f'"{hit}"')
        if self.instructions:
            overlap = shingles(text) & self.instructions
            if overlap:
                return Verdict("echo", f'repeats the instructions: "{" ".join(min(overlap))}"')
        if self.rung != Rung.CURSING:
            swear = next((s for s in detect(text, language=self.language)
                          if s.kind == SignalKind.PROFANITY), None)
            if swear is not None:
                return Verdict("profanity", f'"{swear.quote}" while {self.rung.value}')
        junk = _junk(text)
        if junk:
            return Verdict("junk", junk)
        if _STAGE.search(text):
            return Verdict("echo", "writes a stage direction")
        # Mid-reply only once enough words are in to tell a copy from a shared opening.
        if (final or len(_words(text)) >= 8) and any(near_copy(text, line)
                                                     for line in self.heard):
            return Verdict("agent", "repeats the agent's line")
        # An angry customer does repeat their complaint ("every minute costs money"), so a
        # sentence taken up again is fine; the whole earlier line again is the model looping.
        if final:
            copied = next((line for line in self.said
                           if near_copy(text, line) and near_copy(line, text)), None)
            if copied is not None:
                return Verdict("repeat", "repeats an earlier line of the customer", copied)
        if final:
            return self._final(text)
        return None

    def _final(self, text: str) -> Verdict | None:
        if not _LETTER.search(text):
            return Verdict("junk", "the reply is empty" if not text else f"no words: {text!r}")
        said = _words(text)
        # A reply for a non-English persona made mostly of common English words is English.
        if self.language != "en" and len(said) >= 6 and common_share(said, "en") >= 0.35:
            return Verdict("language", f"answered in English, not {self.language}")
        if self.language == "en" and len(said) >= 8 and common_share(said, "en") == 0:
            return Verdict("language", "answered in another language than English")
        return None


def _junk(text: str) -> str | None:
    if _FOREIGN_SCRIPT.search(text):
        return "switched to another script"
    code = _first(_CODE, text)
    if code:
        return f"looks like code: {code!r}"
    words = _words(text)
    for i in range(len(words) - 3):
        if len(set(words[i:i + 4])) == 1:
            return f'repeats "{words[i]}"'
    if len(words) >= 16 and len(set(words)) / len(words) < 0.35:
        return "repeats itself"
    return None
