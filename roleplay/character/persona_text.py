"""What a reply reads out of the persona file instead of speaking as the customer.

The persona file describes the customer from outside: the situation and the wants in the
third person ("Sari ... eikä hän löydä syytä"), the company's offers in the agent's terms.
The small model sometimes reads those out: "Eikä hän löydä syytä" (the customer in the
third person), "Would rather stay on the line than be told to wait for an email." (a whole
sentence of the wants, word for word), "raportti läpi yhdessä askel askeleelta" (the
company's offer, made by the customer). A customer says what they want in their own words
("I want a firm arrival time"), so only these three shapes count:

- a run of `THIRD` words of the situation, the wants or the facts that holds the customer's
  first name or a third-person pronoun of the persona's language (`third_person` in the
  vocabulary): "Administrators teica, ka viņa ..." is the fact about Ilze, not Ilze speaking;
- a whole sentence of the situation or the wants, at least `RECITED` words, word for word;
- a run of `OFFERED` words of an offer (`policy.may_offer`, `must_not_offer`).

Words the customer may say are never counted: the opening and the rung examples (the
customer's own lines), the facts for the offer rule (what the customer knows), and whatever
the agent said in the call (a customer takes an offer up: "a written guide by email? Fine.").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from roleplay.character.vocabulary import load_vocabulary
from roleplay.text import sentence_spans
from roleplay.text import words as _words

if TYPE_CHECKING:
    from roleplay.personas import Persona

THIRD = 4
"""Words in a row of the situation, holding a third-person word, that narrate the customer."""

RECITED = 6
"""Fewest words of a sentence of the situation or wants that, copied whole, read the file out."""

OFFERED = 6
"""Words in a row of one of the company's offers that make the customer the agent."""


def _grams(found: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(found[i:i + size]) for i in range(len(found) - size + 1)}


def _spoken(persona: Persona, heard: Iterable[str], size: int) -> set[tuple[str, ...]]:
    """Runs of `size` words the customer may say: their own lines, facts, the agent's words."""
    r = persona.rungs
    lines = [persona.opening, *heard,
             *(e for rung in (r.calm, r.passive_angry, r.escalated_angry, r.cursing)
               for e in rung.examples)]
    return set().union(*(_grams(_words(line), size) for line in lines))


def persona_problem(text: str, persona: Persona, heard: Iterable[str] = ()
                    ) -> tuple[str, str] | None:
    """(verdict kind, why) if `text` reads the persona file out, or None: `echo` for the
    customer in the third person or a whole sentence of the file, `agent` for an offer."""
    heard = list(heard)
    said = _words(text)
    described = [persona.customer.situation, persona.customer.wants]
    c = persona.customer
    third = set(load_vocabulary().third_person.get(persona.language, ()))
    third.add(persona.customer.name.split()[0].lower())
    runs = _grams(said, THIRD) - _spoken(persona, heard, THIRD)
    for part in [*described, *c.facts]:
        hit = next((g for g in sorted(runs & _grams(_words(part), THIRD)) if third & set(g)),
                   None)
        if hit:
            return "echo", f'speaks of the customer in the third person: "{" ".join(hit)}"'
    joined = " ".join(said)
    for part in described:
        for sentence in (part[a:b] for a, b in sentence_spans(part)):
            mine = _words(sentence)
            if len(mine) >= RECITED and f" {' '.join(mine)} " in f" {joined} ":
                return "echo", f'reads out the persona file: "{sentence.strip()}"'
    runs = _grams(said, OFFERED) - _spoken(persona, [*heard, *c.facts], OFFERED)
    for offer in [*persona.policy.may_offer, *persona.policy.must_not_offer]:
        hit = next(iter(sorted(runs & _grams(_words(offer), OFFERED))), None)
        if hit:
            return "agent", f'makes the company\'s offer: "{" ".join(hit)}"'
    return None
