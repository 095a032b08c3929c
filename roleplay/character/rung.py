"""Do a customer's words follow the rung they are spoken on, and the persona's facts?

Cheap, lexical checks on a whole reply (`roleplay.character.CharacterCheck` calls them when
it knows the persona; the engine regenerates a reply that fails one):

- rung: swearing is the cursing rung's alone (the profanity check); on calm, declared anger,
  insults, threats or shouting (several "!", a word in capitals) lag the ladder; on
  passive-angry, several "!" are shouting; on cursing, a reply with neither anger nor
  anything loud is flat; on the angry rungs, thanks and agreement with nothing angry or
  sarcastic beside them ("Thank you, that works for me.") run ahead of it; on an angry rung,
  four words in a row of a calmer rung's example line (or of the opening) with nothing angry
  or loud beside them are that calmer rung's words (on cursing, a calm line with an "!" too);
  on calm, four words of any other rung's line or of the opening lag the ladder; on
  passive-angry, those of a louder rung run ahead of it. The words are in each language's vocabulary file
  (`rung:` relief, sarcasm, anger).
- facts: a clock time or a number of three or more digits that appears nowhere in the
  persona (situation, facts, opening, rung examples) or in the call so far contradicts what
  the customer knows ("since 10:30" when it broke at 9:40); so does a self-introduction with
  another name than the persona's.

What happened in words ("the technician came yesterday") is beyond these checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from roleplay.character.vocabulary import load_vocabulary
from roleplay.mood import LADDER, Rung
from roleplay.signals import swears
from roleplay.text import words

if TYPE_CHECKING:
    from roleplay.personas import Persona

BORROWED = 4
"""Words in a row shared with another rung's example line that make a reply that rung's."""

SHORT = 4
"""Fewer words than this ("What?", "Where is he?") are too short to call flat."""

_TIME = re.compile(r"\b([01]?\d|2[0-3])[:.]([0-5]\d)\b")
_NUMBER = re.compile(r"\d+(?:[.,\u00a0 ]\d{3})*(?:[.,]\d+)?")
_SHOUT = re.compile(r"\b[^\W\d_a-zäöåæøüõéáíóúőűāēīūčšžķļņģ]{4,}\b")


def _digits(token: str) -> str:
    return re.sub(r"\D", "", token)


def numbers(text: str) -> set[str]:
    """The numbers of `text` as digit strings, each also split at its separators."""
    out: set[str] = set()
    for m in _NUMBER.finditer(text):
        out.add(_digits(m.group(0)))
        out.update(p for p in re.split(r"[.,:\u00a0 ]", m.group(0)) if p)
    for m in _TIME.finditer(text):
        out.add(m.group(1).lstrip("0") + m.group(2))
    return out


def persona_text(persona: Persona) -> str:
    """Everything the persona file says the customer knows or says."""
    c, r = persona.customer, persona.rungs
    examples = [e for rung in (r.calm, r.passive_angry, r.escalated_angry, r.cursing)
                for e in rung.examples]
    return "\n".join([persona.title, persona.company, c.name, c.situation, c.wants, *c.facts,
                      *persona.policy.may_offer, *persona.policy.must_not_offer,
                      persona.opening, *examples])


def fact_problem(text: str, persona: Persona, call: Iterable[str]) -> str | None:
    """Why `text` contradicts the persona's facts, or None."""
    known_text = persona_text(persona) + "\n" + "\n".join(call)
    known = numbers(known_text)
    for m in _TIME.finditer(text):
        if (m.group(1).lstrip("0") + m.group(2)) not in known and m.group(0) not in known_text:
            return f'says "{m.group(0)}", a time the persona does not know'
    for m in _NUMBER.finditer(text):
        digits = _digits(m.group(0))
        if len(digits) >= 3 and digits not in known and not _TIME.fullmatch(m.group(0)):
            return f'says "{m.group(0)}", a number the persona does not know'
    own = set(persona.customer.name.split())
    for pattern in load_vocabulary().names:
        for m in pattern.finditer(text):
            if m.group("name") not in own:
                return f'calls themself "{m.group("name")}", not {persona.customer.name}'
    return None


def _hits(kind: str, language: str, text: str) -> list[str]:
    return [m.group(0) for p in load_vocabulary().rung_words(kind, language)
            for m in [p.search(text)] if m]


def shouts(text: str, persona: Persona) -> bool:
    """Several exclamation marks, or a word in capitals that is not a name in the persona."""
    known = persona_text(persona)
    caps = [w for w in _SHOUT.findall(text) if w not in known]
    return text.count("!") >= 2 or bool(caps)


def _borrowed(text: str, rung: Rung, persona: Persona) -> set[Rung]:
    # A persona's example lines (and its opening, spoken on the start rung) are the words
    # of their rung: taking one up on another rung is the words lagging or running ahead.
    mine = set().union(*(_grams(e) for e in persona.rungs.for_rung(rung).examples))
    said = _grams(text)
    others = [(r, e) for r in LADDER if r != rung for e in persona.rungs.for_rung(r).examples]
    if persona.start_rung != rung:
        others.append((persona.start_rung, persona.opening))
    return {other for other, line in others if (said & _grams(line)) - mine}


def _grams(text: str) -> set[tuple[str, ...]]:
    found = words(text)
    return {tuple(found[i:i + BORROWED]) for i in range(len(found) - BORROWED + 1)}


def rung_problem(text: str, rung: Rung, persona: Persona) -> str | None:
    """Why the words of `text` do not fit `rung` (swearing aside: the profanity check), or None."""
    language = persona.language
    anger = _hits("anger", language, text)
    borrowed = sorted(_borrowed(text, rung, persona), key=lambda r: r.level)
    if rung == Rung.CALM:
        if anger:
            return f'angry words on calm: "{anger[0]}"'
        if shouts(text, persona):
            return "shouts on calm"
        if borrowed:
            return f"the words of {borrowed[-1].value} on calm"
        return None
    if rung == Rung.PASSIVE_ANGRY:
        if text.count("!") >= 2:
            return "shouts on passive-angry"
        louder = [r for r in borrowed if r.level > rung.level]
        if louder:
            return f"the words of {louder[0].value} on passive-angry"
    # Swearing is what the cursing rung is (the labelling guide: "swearing, insults or loud
    # anger"): "This is a bloody joke. Six hours I've sat here waiting" is not flat.
    oath = rung == Rung.CURSING and swears(text, language)
    if not anger and not oath and len(words(text)) >= SHORT:
        # On cursing, a calm line stays calm with an "!" after it ("Ar to es varu dzīvot!");
        # on escalated-angry the "!" is loud enough.
        if Rung.CALM in borrowed and rung == Rung.CURSING:
            return "the words of calm on cursing, nothing louder"
        if "!" not in text:
            if rung == Rung.CURSING:
                return "flat on cursing: no anger, nothing loud"
            calmer = [r for r in borrowed if r.level < rung.level]
            if calmer:
                return f"the words of {calmer[0].value} on {rung.value}, nothing louder"
    relief = _hits("relief", language, text)
    if not relief:
        return None
    if _hits("sarcasm", language, text) or anger or "!" in text or "?" in text:
        return None  # thanks with a sting, a demand or a question is still on the rung
    return f'relieved words on {rung.value}: "{relief[0]}"'
