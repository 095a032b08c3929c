"""The customer prompt of one turn, built from a persona and the call so far.

The prompt is a call transcript for a completion model to continue (prompts/customer.md):
the persona prefix, the call lines `Agent: ...` / `<Name>: ...` in order, a stage direction
for the current rung (prompts/customer_direction.md), and the customer's label. Only the
direction and the label come after the call lines, so each turn's prompt starts with the
previous turn's prompt up to its direction, and the server's prompt cache reuses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from roleplay.character import CharacterCheck, shingles
from roleplay.language import COMMON_WORDS, language_name
from roleplay.mood import LADDER, Rung, by_rung
from roleplay.personas import Persona
from roleplay.prompts import PromptTemplate, read_prompt
from roleplay.signals import SignalKind, detect, swears
from roleplay.text import AGENT_LABEL, sentence_spans
from roleplay.tokens import fit_lines
from roleplay.transcript import Transcript

CUSTOMER_PROMPT = "customer"
DIRECTION_PROMPT = "customer_direction"

# How each rung is named inside the prompt. The rung ids themselves never appear there, so a
# reply that says "passive-angry" can only be echoing machinery (see character.py).
MOOD_WORDS: dict[Rung, str] = by_rung(calm="calm", passive_angry="annoyed", escalated_angry="angry",
                                      cursing="furious")

# Filled in for the template's own words only, to find the instruction text a reply echoes.
_BLANK = "\x00"


def speaker_label(persona: Persona) -> str:
    """Return the customer's label in the transcript: the first name, as people write notes."""
    return persona.customer.name.split()[0]


def _one_line(text: str) -> str:
    # A line break inside a turn would read as a new speaker's line to the model.
    return " ".join(text.split())


def unsworn(text: str, language: str) -> str:
    """Return `text` without the swear words the lexicons know.

    The model goes on in the register of the lines above: a customer who swore on the
    cursing rung (or in a cursing opening) kept swearing after being calmed, and every such
    reply was thrown away. The stored call keeps every word; only the prompt drops them.
    """
    original = text
    spans = [(s.start, s.end) for s in detect(text, language=language)
             if s.kind == SignalKind.PROFANITY]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    if spans and min(spans)[0] <= 4:
        # An oath at the start leaves its stub ("Damn it, ..." -> "it, ..."): drop it too.
        text = re.sub(r"^\s*(?:\w+\s*){0,2}[,!]\s*", "", text)
    # "This is a damn joke" -> "This is a  joke" -> "This is a joke"; "Damn, ..." -> "..."
    text = re.sub(r"\s+([,.!?])", r"\1", re.sub(r"\s{2,}", " ", text))
    # A line that was nothing but an oath stays as it was: an empty line reads as no reply.
    return re.sub(r"^[\s,.!?]+", "", text).strip() or original.strip()


def call_lines(persona: Persona, transcript: Transcript) -> list[str]:
    """Return the call so far as transcript lines, oldest first (customer lines unsworn)."""
    label = speaker_label(persona)
    return [f"{AGENT_LABEL}: {_one_line(t.content)}" if t.role == "trainee"
            else f"{label}: {_one_line(unsworn(t.content, persona.language))}"
            for t in transcript.turns]


_WORD = re.compile(r"\w+(?:['’]\w+)*")


def line_start(text: str, language: str) -> str:
    """Return how `text` starts: its first word, or its first two when the first is a common
    word of `language` ("I am", "Ei ole"), which alone would rule out too many lines."""
    words = list(_WORD.finditer(text.strip()))
    if not words:
        return ""
    common = COMMON_WORDS.get(language, frozenset())
    last = words[1] if words[0].group(0).lower() in common and len(words) > 1 else words[0]
    return text.strip()[:last.end()]


def used_starts(persona: Persona, transcript: Transcript) -> list[str]:
    """Return how the call's lines so far started, the customer's (as the prompt shows them)
    and the agent's: the customer's next line should start otherwise.

    The small model copies a whole earlier line from its first word on, its own (the opening
    most of all) or the agent's, and the repeat check throws the copy away; a reply that
    cannot start the same way is less likely to become the same line (roleplay.grammar).
    """
    starts: set[str] = set()
    for turn in transcript.turns:
        if turn.role == "customer":
            # Every sentence: the copy may begin at the second ("Labdien, man ir..." came back
            # as "Man ir...").
            text = unsworn(turn.content, persona.language)
            starts.update(line_start(text[a:b], persona.language)
                          for a, b in sentence_spans(text))
        else:
            starts.add(line_start(turn.content, persona.language))
    starts |= {stem for start in starts if (stem := word_stem(start, persona.language))}
    # The opening's oath taken out leaves "kolmas kerta..."; the model would write "Kolmas".
    starts |= {start[:1].upper() + start[1:] for start in starts}
    return sorted(start for start in starts if start)


def word_stem(start: str, language: str) -> str | None:
    """Return the first two or three letters of how a line started (`line_start`), or None
    when that start is a common word and the next ("Man ir", "I am").

    With only the whole word ruled out, the model wrote it with a letter changed and copied
    the rest of the line: "Kolmatta kerta tällä viikolla..." for "Kolmas kerta...", "Hej. Jeg
    ringer..." for "Hei. Jeg ringer...". Three letters of a longer word, two of a short one.
    """
    found = _WORD.findall(start)
    if not found or (len(found) > 1 and found[0].lower() in COMMON_WORDS.get(language, ())):
        return None  # "Man ir", "I am": the pair is the start, and "Ma" would rule out too much
    word = found[0]
    size = 3 if len(word) > 3 else 2
    return word[:size] if len(word) > size else None


OPENER_WORDS = 3
"""An oath opening a cursing example in at most this many words, up to its comma or "!",
opens a line."""


def oath_openers(persona: Persona) -> tuple[str, ...]:
    """Return the oaths the persona's cursing examples open with ("Voi helvetti,",
    "Sasodīts,"): the words a reply on the cursing rung is started with.

    On the cursing rung the small model mostly wrote a flat line (43 of 231 regeneration
    reasons in a full persona run were "flat on cursing"; 31 of 80 cursing replies passed on
    the first draft). A line already opened with the persona's own oath is a cursing line
    however it goes on. Only a whole oath, up to its comma or "!": a longer start ("Ez egy
    rohadt") would make the model say the rest of the example.

    Measured (2026-12-02, the bad scripts of the six personas that had such an example then,
    three rounds, arms alternated on one server): cursing replies first try 0.64 against 0.34
    without (36 and 35 replies), regenerations per reply 0.47 against 1.43, first shown
    token 4.3 s against 7.2 s; hunspell's unknown-word share 0.032 against 0.043.
    """
    openers = []
    for example in persona.rungs.for_rung(Rung.CURSING).examples:
        cut = re.search(r"[,!]", example)
        if cut is None:
            continue
        start = example[:cut.end()].strip()
        if len(_WORD.findall(start)) <= OPENER_WORDS and swears(start, persona.language):
            openers.append(start)
    return tuple(dict.fromkeys(openers))


def stop_sequences(label: str) -> list[str]:
    """Where the customer's line ends: a line break, or another speaker's label.

    The agent's label inside the line ("... I can work with that. Agent: Thank you") is the
    model going on as the agent; stopping there keeps the customer's part and needs no
    regeneration.
    """
    return [f"\n{AGENT_LABEL}:", f"\n{label}:", "\n\n", f" {AGENT_LABEL}:", f" {label}:"]


@dataclass(frozen=True)
class CustomerPrompt:
    """The prompt of one customer turn, and how it was made to fit."""

    text: str
    """The whole prompt, ending with the customer's label."""
    cached_part: str
    """The text before the stage direction: the part the next turn's prompt also starts with."""
    dropped_lines: int
    """Oldest call lines left out to fit the context."""
    avoid_starts: tuple[str, ...] = ()
    """How earlier lines of the call started: the reply should not start the same way."""
    opener: str = ""
    """Words the reply starts with, already at the end of `text` (`oath_openers`); the model
    writes the rest."""


class PromptBuilder:
    """Renders the customer prompt for one persona; the templates are read and checked once."""

    def __init__(self, persona: Persona, prompts_dir: Path):
        self.persona = persona
        self.customer: PromptTemplate = read_prompt(CUSTOMER_PROMPT, prompts_dir)
        self.direction: PromptTemplate = read_prompt(DIRECTION_PROMPT, prompts_dir)
        # Fail on a broken template now, not on the first turn.
        self.customer.check(set(self._prefix_values()) | {"call", "direction"})
        self.direction.check(set(self._direction_values(persona.start_rung)))
        self._instructions = self._instruction_shingles()
        self._openers = oath_openers(persona)

    def _prefix_values(self) -> dict[str, str]:
        p = self.persona
        label = speaker_label(p)
        moods = []
        for rung in LADDER:
            behaviour = p.rungs.for_rung(rung)
            # No swearing example: this part is shown on every rung, and the small model
            # swore on the calmer ones after reading it; the direction says when to swear.
            like = "" if rung == Rung.CURSING else f' Like: "{behaviour.examples[0]}"'
            moods.append(f"- {MOOD_WORDS[rung].capitalize()}: {behaviour.behaviour}{like}")
        return {
            "company": p.company,
            "full_name": p.customer.name,
            "name": label,
            "language": language_name(p.language),
            "situation": _one_line(p.customer.situation),
            "wants": _one_line(p.customer.wants),
            "facts": "; ".join(p.customer.facts) + "." if p.customer.facts else "nothing more.",
            "moods": "\n".join(moods),
        }

    def _direction_values(self, rung: Rung) -> dict[str, str]:
        label = speaker_label(self.persona)
        swearing = (f"{label} swears." if rung == Rung.CURSING
                    else f"{label} does not swear.")
        return {
            "name": label,
            "mood": MOOD_WORDS[rung],
            "behaviour": _one_line(self.persona.rungs.for_rung(rung).behaviour),
            "swearing": swearing,
            "language": language_name(self.persona.language),
        }

    def render(self, lines: Sequence[str], rung: Rung) -> CustomerPrompt:
        """Return the prompt for `lines` (the call so far) with the direction for `rung`."""
        direction = self.direction.render(**self._direction_values(rung))
        marked = self.customer.render(**self._prefix_values(), call="\n".join(lines),
                                      direction=_BLANK)
        cached, _ = marked.split(_BLANK, 1)
        return CustomerPrompt(text=marked.replace(_BLANK, direction), cached_part=cached,
                              dropped_lines=0)

    def build(self, transcript: Transcript, rung: Rung, context_tokens: int,
              max_tokens: int) -> CustomerPrompt:
        """Return the prompt for the customer's next line, trimmed to the context."""
        lines = call_lines(self.persona, transcript)
        _, dropped = fit_lines(lambda kept: self.render(kept, rung).text, lines,
                               context_tokens, max_tokens)
        prompt = self.render(lines[dropped:], rung)
        opener = self._opener(transcript, rung)
        if opener:
            # The start is given, so there is no start to rule out.
            return CustomerPrompt(f"{prompt.text} {opener}", prompt.cached_part, dropped,
                                  opener=opener)
        return CustomerPrompt(prompt.text, prompt.cached_part, dropped,
                              tuple(used_starts(self.persona, transcript)))

    def _opener(self, transcript: Transcript, rung: Rung) -> str:
        openers = self._openers if rung == Rung.CURSING else ()
        if not openers:
            return ""
        # Taken in turn from the first, so two cursing lines in a row do not open alike.
        replies = sum(1 for t in transcript.turns[1:] if t.role == "customer")  # after the opening
        return openers[replies % len(openers)]

    def warm_prompt(self, transcript: Transcript, context_tokens: int, max_tokens: int) -> str:
        """Return the text the next turn's prompt will start with, to process ahead of time."""
        rung = transcript.rung or self.persona.start_rung
        return self.build(transcript, rung, context_tokens, max_tokens).cached_part

    def _instruction_shingles(self) -> frozenset[tuple[str, ...]]:
        # The templates' own words (placeholders blanked): a customer never says those.
        own = self.customer.render(**{k: _BLANK for k in self.customer.placeholders})
        own += "\n" + self.direction.render(**{k: _BLANK for k in self.direction.placeholders})
        return frozenset().union(*(shingles(part) for part in own.split(_BLANK)))

    def checker(self, rung: Rung, transcript: Transcript | None = None) -> CharacterCheck:
        """Return the character checks for a reply spoken on `rung` after `transcript`."""
        turns = transcript.turns if transcript is not None else []
        return CharacterCheck(
            rung=rung, language=self.persona.language, instructions=self._instructions,
            said=frozenset(t.content for t in turns if t.role == "customer"),
            heard=frozenset(t.content for t in turns if t.role == "trainee"),
            persona=self.persona,
        )
