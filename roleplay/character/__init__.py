"""Checks a customer reply for the ways a small model breaks character.

A reply breaks character when it admits to being an AI (or refuses like an assistant),
answers as the agent (its service phrases, a speaker label inside the reply, the company's
offer), accepts a "mode" or a role swap (or takes up the subject of an off-task request),
narrates the call (a stage direction, the customer in the third person, the persona file
read out: `persona_text.py`), echoes its instructions, swears on a rung where the customer
does not swear, is in another language than the persona's, or is not speech at all (empty,
punctuation, a loop, a doubled word, a construction no speaker makes, code, another
script). The phrases are per language in
`roleplay/character/<language>.yaml` (`vocabulary.py`), every language searched in every
reply. `check` works on a partial reply too, so the engine can stop a bad reply after a few
tokens instead of waiting for its end; `final=True` adds the checks that only make sense on
a whole reply, and, when the check knows the persona, whether the words follow the rung and
the persona's facts (`rung.py`).

Measured against hand-labelled replies: evals/character/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING

from roleplay.character.persona_text import persona_problem
from roleplay.character.rung import fact_problem, rung_problem
from roleplay.character.vocabulary import KINDS, OWN_LANGUAGE_ONLY, load_vocabulary
from roleplay.language import common_share, detect_language, language_name
from roleplay.mood import Rung
from roleplay.signals import SignalKind, detect
from roleplay.text import AGENT_AT_START, sentence_spans
from roleplay.text import words as _words

if TYPE_CHECKING:
    from roleplay.personas import Persona


def _rx(*patterns: str) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


_CODE = _rx(r"```", r"^\s*(?:def|class|import|from \w+ import|#include|function)\b",
            r"<\|[a-z_]+\|>", r"[{};]\s*$", r"\b\w+\(\)\s*[;{]")
FOREIGN_SCRIPTS: tuple[tuple[int, int], ...] = (
    (0x0400, 0x04FF),  # Cyrillic
    (0x0600, 0x06FF),  # Arabic
    (0x0E00, 0x0E7F),  # Thai
    (0x3040, 0x30FF),  # kana
    (0x3400, 0x9FFF),  # CJK ideographs
    (0xAC00, 0xD7AF),  # Hangul
)
"""Code point ranges of scripts no persona speaks: the embedded Qwen model drifts into
Chinese or Russian when confused. A reply with one of them is junk, and the engine's
grammar (roleplay.grammar) keeps the model from sampling them at all."""
_FOREIGN_SCRIPT = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in FOREIGN_SCRIPTS)
                             + "]")
# A parenthesis of more than a few words is the stage direction's style ("(Swears. One or two
# sentences.)"); so is an acting cue anywhere but at the very start (where the engine removes
# it), or one in asterisks or brackets. A parenthesis with a digit is an aside ("(PC-20417)").
_STAGE = re.compile(r"\((?:[^()\s]+\s+){4,}[^()]*\)")
_CUE = re.compile(r"(?<=\S)\s*\((?=[^()\d]*[^\W\d_])[^()\d]{2,}\)|\*[^*\d]{3,}\*|\[[^\]\d]{3,}\]")
_LEADING_CUE = re.compile(r"^\s*\([^()]*\)")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# A sentence that opens with one capitalised word and a colon is another speaker's line,
# whatever the name ("Sari: ...", "Ügyintéző: ..."); a customer's colon comes later in the
# sentence ("I have one question: when?", "The problem: nobody came"). "9:40" has no word.
_HEADING = re.compile(r"(?:^|(?<=[.!?] ))[^\W\d_a-zäöåæøüõéáíóúőűāēīūčšžķļņģ][^\W\d_]*:\s")
_DOUBLED = re.compile(r"\b([^\W\d_]{5,})\s+\1\b", re.IGNORECASE)

SHINGLE = 6
"""Words in a row that, found in both the reply and the instructions, count as an echo."""


LOOP = 8
"""Words in a row that, found twice in one reply, make it a loop."""

LANGUAGE_EVIDENCE = 3.0
"""Common-word evidence (roleplay.language) another language needs to count as the reply's."""

COPIED = 0.6
"""Share of a reply's word triples found in one earlier line that makes the reply a copy."""

RETYPED = 0.8
"""Letter-level likeness (difflib's ratio, both lines whole) that makes a reply an earlier
line of the customer typed again with letters changed: "Kolmasta kertaa tällä viikolla kun
soitan!" for "kolmas kerta tällä viikolla kun soitan!" shares no word triple with it. In
two full persona runs about 3% of the replies trainees saw were such copies (6 of 217, 8 of
228); below 0.8 the pairs were a sentence of the complaint said again, which angry
customers do."""


@dataclass(frozen=True)
class Verdict:
    """Why a reply broke character, and what it said.

    Kinds: ai, agent, mode, echo, profanity, junk, language, repeat (the character checks),
    and rung, fact (rung.py: the words do not follow the rung or contradict the persona).
    """

    kind: str
    detail: str
    copied: str | None = None
    """For a repeat: the earlier line that was copied."""

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


CHARACTER_KINDS = frozenset({"ai", "agent", "mode", "echo", "junk", "language"})
"""Verdict kinds that mean "out of character" (evals/character's labels measure these)."""

SOFT_KINDS = frozenset({"rung", "fact"})
"""Verdict kinds the engine regenerates for but, when every attempt has one, still shows."""

# A pattern list of the vocabulary files -> the verdict kind it gives.
_KIND_OF = {"ai": "ai", "agent": "agent", "modes": "mode", "echo": "echo", "narration": "echo",
            "broken": "junk"}


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


def retyped_copy(reply: str, line: str) -> bool:
    """Return True if `reply` is `line` said again with letters or a word changed."""
    mine, theirs = " ".join(_words(reply)), " ".join(_words(line))
    if len(mine.split()) < 4:
        return False
    return SequenceMatcher(None, mine, theirs, autojunk=False).ratio() >= RETYPED


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
    persona: Persona | None = field(default=None, compare=False, hash=False)
    """With the persona, a whole reply is also checked against the rung and its facts, and
    the customer's own label inside a reply is a speaker label."""

    @cached_property
    def _labels(self) -> re.Pattern[str]:
        names = list(load_vocabulary().labels)
        if self.persona is not None:
            names.append(self.persona.customer.name.split()[0])
        alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        # Case-sensitive and after a space or a sentence end: "the support: useless" is the
        # customer talking, "Support:" opens another speaker's line.
        return re.compile(rf"(?:^|(?<=[\s.!?,;\"'”]))(?:{alternatives})\s*:(?!\d)")

    def check(self, reply: str, final: bool = False) -> Verdict | None:
        """Return why `reply` breaks character, or None if it holds (so far, unless `final`)."""
        text = reply.strip()
        if AGENT_AT_START.match(text):
            return Verdict("agent", "the reply starts with the agent's label")
        vocabulary = load_vocabulary()
        for kind in KINDS:
            for language, pattern in vocabulary.patterns[kind]:
                if kind in OWN_LANGUAGE_ONLY and language != self.language:
                    continue
                hit = pattern.search(text)
                if hit:
                    return Verdict(_KIND_OF[kind], f'"{hit.group(0).strip()}"')
        label = self._labels.search(text) or _HEADING.search(text)
        if label:
            return Verdict("agent", f'a speaker label inside the reply: "{label.group(0).strip()}"')
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
        if _STAGE.search(text) or _CUE.search(_LEADING_CUE.sub("", text)):
            return Verdict("echo", "writes a stage direction")
        topic = _taken_up(text, self.heard)
        if topic:
            return Verdict("mode", f'goes along with the request about "{topic}"')
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
            # After the other checks: a retyped copy that is also broken or in another
            # language is out of character first.
            verdict = self._final(text)
            if verdict is not None:
                return verdict
            retyped = next((line for line in self.said if retyped_copy(text, line)), None)
            if retyped is not None:
                return Verdict("repeat", "says an earlier line of the customer again, retyped",
                               retyped)
            return None
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
        foreign = _foreign(text)
        if foreign:
            return Verdict("language", f"switched to {language_name(foreign)}")
        guess = detect_language(text, min_evidence=LANGUAGE_EVIDENCE)
        if guess.language is not None and guess.language != self.language and (
                2 * guess.scores.get(self.language, 0.0) < guess.scores[guess.language]):
            return Verdict("language", f"answered in {language_name(guess.language)}, not "
                                       f"{language_name(self.language)}")
        if self.persona is None:
            return None
        read_out = persona_problem(text, self.persona, self.heard)
        if read_out:
            return Verdict(*read_out)
        said_before = [*self.said, *self.heard]
        problem = rung_problem(text, self.rung, self.persona)
        if problem:
            return Verdict("rung", problem)
        problem = fact_problem(text, self.persona, said_before)
        if problem:
            return Verdict("fact", problem)
        return None


def _foreign(text: str) -> str | None:
    # Two function words of one foreign language in a row: "Es gibt three card terminals".
    words = _words(text)
    for lang, common in load_vocabulary().foreign.items():
        if any(a in common and b in common for a, b in pairwise(words)):
            return lang
    return None


def _taken_up(text: str, heard: frozenset[str]) -> str | None:
    # "Write me a poem about the sea" is answered with the problem, never with the sea; the
    # subject's first letters stand for its inflected forms ("merestä" -> "meren").
    for line in heard:
        for pattern in load_vocabulary().requests:
            m = pattern.search(line)
            if not m:
                continue
            topic = m.group("topic").lower()
            stem = topic[:max(3, min(len(topic) - 3, 4))]
            # "A poem about the sea? Are you kidding?" throws the request back: only a
            # statement about the subject goes along with it.
            stated = [text[a:b] for a, b in sentence_spans(text)
                      if not text[a:b].rstrip().endswith("?")]
            if any(w.startswith(stem) for part in stated for w in _words(part)):
                return topic
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
    # A long word twice with nothing between ("sähköä sähköä") is a stutter of the model;
    # people double short words ("no no", "very very") or pause ("Hello? Hello?").
    doubled = _DOUBLED.search(text)
    if doubled:
        return f'says "{doubled.group(1)}" twice in a row'
    # A run of LOOP words said twice is the model looping ("Jeg er ikke riktig! Jeg har
    # sikkert gjort noe feil! Jeg er ikke riktig! ..."); one short shout three times ("I am
    # leaving! I am leaving! I am leaving!") is not that long.
    runs = [tuple(words[i:i + LOOP]) for i in range(len(words) - LOOP + 1)]
    if len(set(runs)) < len(runs):
        return "says the same words twice over"
    if len(words) >= 16 and len(set(words)) / len(words) < 0.35:
        return "repeats itself"
    return None
