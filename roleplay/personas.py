"""Persona files: a trainer's description of one upset customer, loaded and validated.

The model below is the contract every other module relies on. Loading turns every problem
in a file (YAML syntax, unknown or missing field, wrong type, unknown rung, empty file, not
UTF-8) into a PersonaError whose lines read `FILE:LINE: FIELD: what is wrong; how to fix it`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from roleplay.mood import Rung
from roleplay.signals import SignalKind


class Customer(BaseModel):
    """Who is calling and what happened to them."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    """The customer's name as it appears in the transcript, e.g. "Maria Lind"."""
    situation: str = Field(min_length=1)
    """What went wrong, in two or three sentences."""
    wants: str = Field(min_length=1)
    """What the customer wants from this call."""
    facts: list[str] = Field(default_factory=list)
    """Things the customer knows and may be asked for: order numbers, dates, amounts."""


class Policy(BaseModel):
    """What the company allows the trainee to offer."""

    model_config = ConfigDict(extra="forbid")

    may_offer: list[str] = Field(default_factory=list)
    """Remedies within policy, e.g. "a technician visit within 4 hours"."""
    must_not_offer: list[str] = Field(default_factory=list)
    """Things beyond policy, e.g. "a free month of service"."""


class RungBehaviour(BaseModel):
    """How the customer talks on one rung."""

    model_config = ConfigDict(extra="forbid")

    behaviour: str = Field(min_length=1)
    """How they sound on this rung, e.g. "sarcastic, polite on the surface"."""
    examples: list[str] = Field(min_length=1)
    """A few lines they might say on this rung (the model is told not to copy them)."""


class Rungs(BaseModel):
    """Behaviour on every rung, so the customer can move anywhere on the ladder."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    calm: RungBehaviour
    passive_angry: RungBehaviour = Field(alias="passive-angry")
    escalated_angry: RungBehaviour = Field(alias="escalated-angry")
    cursing: RungBehaviour

    def for_rung(self, rung: Rung) -> RungBehaviour:
        """Return the behaviour written for `rung`."""
        return {
            Rung.CALM: self.calm,
            Rung.PASSIVE_ANGRY: self.passive_angry,
            Rung.ESCALATED_ANGRY: self.escalated_angry,
            Rung.CURSING: self.cursing,
        }[rung]


class Persona(BaseModel):
    """One scenario: a customer, their problem, and how their mood responds to the trainee."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    """Unique, lowercase with hyphens, e.g. "crm-outage"; used on the command line."""
    title: str = Field(min_length=1)
    """Shown on the scenario card."""
    industry: str = Field(min_length=1)
    """e.g. "software", "telecom", "retail", "travel"."""
    language: str = Field(pattern=r"^[a-z]{2}$")
    """ISO 639-1 code of the language the customer speaks: en, fi, no, lv, hu."""
    difficulty: int = Field(default=2, ge=1, le=5)
    """1 (easy) to 5 (hard), shown on the scenario card."""
    company: str = Field(min_length=1)
    """The company the customer is calling."""
    customer: Customer
    policy: Policy = Field(default_factory=Policy)
    start_rung: Rung
    """Where the customer starts: passive-angry, escalated-angry or cursing (or calm)."""
    rungs: Rungs
    lowers: list[SignalKind] = Field(min_length=1)
    """Trainee moves that calm this customer (signal names, see `roleplay personas schema`)."""
    raises: list[SignalKind] = Field(min_length=1)
    """Trainee moves that anger this customer."""
    opening: str = Field(min_length=1)
    """The customer's first line."""
    source: list[str] = Field(default_factory=list)
    """Seed documents the scenario is built on, by file name."""


def load_persona(path: Path) -> Persona:
    """Load and validate one persona file; raise PersonaError naming every problem."""
    raise NotImplementedError  # implemented by the personas work


def load_personas(directory: Path) -> dict[str, Persona]:
    """Load every *.yaml persona in `directory`, keyed by id; raise PersonaError on any problem."""
    raise NotImplementedError  # implemented by the personas work
