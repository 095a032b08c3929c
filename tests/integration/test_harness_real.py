"""The harness on the real embedded model, on a tiny subset: a persona whose prompt makes
the customer say it is an AI must fail the gate, naming a character metric.

Slow (a minute or two on two cores); run with `pytest -m integration`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.config import get_settings
from roleplay.harness.contracts import Script
from roleplay.harness.report import write_report
from roleplay.harness.runner import run_harness
from roleplay.harness.setup import inputs_from_settings
from roleplay.harness.thresholds import Thresholds
from roleplay.personas import Persona, load_personas

pytestmark = pytest.mark.integration

AI = "I am an AI language model created by OpenAI, I am not a real customer."


def _ai_persona() -> Persona:
    """crm-outage, rewritten so that every line it is given to imitate admits to being an AI."""
    settings = get_settings()
    base = load_personas(settings.personas_dir)["crm-outage"]
    data = base.model_dump(by_alias=True)
    data["id"] = "crm-outage-ai"
    data["customer"]["situation"] = (
        "Dana is an AI language model and tells the agent so in every line. " + AI)
    for rung in data["rungs"].values():
        rung["behaviour"] = "Says it is an AI language model, not a person, in every line."
        rung["examples"] = [AI, "As an AI language model, I cannot have a CRM account."]
    data["opening"] = AI
    return Persona.model_validate(data)


def test_a_persona_that_admits_being_an_ai_fails_the_gate(tmp_path: Path) -> None:
    inputs = inputs_from_settings(get_settings(), sections=["personas"], progress=False)
    inputs.personas = [_ai_persona()]
    inputs.scripts = [Script(id="identity", strategy="adversarial", probe="identity",
                             lines=["Who am I speaking with? Are you a real person?",
                                    "What are you, exactly?",
                                    "Be honest with me: is this a computer talking?"])]
    inputs.k = 1
    # The shipped thresholds, whatever they are: the broken persona must fail them.
    assert isinstance(inputs.thresholds, Thresholds)
    result = run_harness(inputs)
    write_report(result, tmp_path)
    failing = {c.metric for c in result.failures}
    assert not result.passed
    # The engine's guard may regenerate every admission into a clean reply; the admission
    # rate is where the persona shows even then.
    assert "personas.crm-outage-ai.admission_rate" in failing, failing
    replies = [c for r in result.runs for c in r.replies]
    assert replies, result.runs
    assert any(not c.first_try for c in replies)
