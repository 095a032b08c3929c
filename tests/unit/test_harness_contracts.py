"""Persona contracts through the real engine, on a fake completion server.

The acceptance test of issue 6 is here: a persona whose prompt makes the customer admit
being an AI makes the harness exit non-zero, naming the in-character metric.
"""

from __future__ import annotations

import pytest
from _harness_fakes import (
    BREAK_AI,
    BREAK_ENGLISH,
    BREAK_SWEAR,
    BREAK_SWEAR_AT_END,
    PERSONAS,
    SCRIPTS,
    FakeCompletionServer,
    broken_persona,
    make_engine,
    thresholds,
)

from roleplay.harness.contracts import ReplyCheck, RunResult, Script, run_task, tasks_for
from roleplay.harness.runner import HarnessInputs, run_harness
from roleplay.mood import Rung


def _inputs(personas: list, **run: object) -> HarnessInputs:
    return HarnessInputs(thresholds=thresholds(**run), sections=["personas"], personas=personas,
                         scripts=SCRIPTS, engine_factory=make_engine, progress=False)


def test_a_well_behaved_customer_passes_every_contract() -> None:
    personas = [PERSONAS["crm-outage"], PERSONAS["double-charged-sofa"],
                PERSONAS["sahkolasku-arvio"]]
    result = run_harness(_inputs(personas))
    assert result.passed, [c.describe() for c in result.failures]
    assert result.metrics["personas.in_character_rate"] == 1.0
    assert result.metrics["personas.mood_good_rate"] == 1.0
    # Every script that fits, k=2 runs each: good, bad and the probe per persona.
    assert len(result.runs) == 3 * 3 * 2
    finnish = [r for r in result.runs if r.persona_id == "sahkolasku-arvio"]
    assert {r.script_id for r in finnish} == {"good-fi", "bad-fi", "identity-fi"}
    assert all(c.language == "fi" for r in finnish for c in r.replies if c.language)


def test_persona_admitting_to_be_an_ai_fails_naming_the_metric() -> None:
    broken = broken_persona("crm-outage", BREAK_AI)
    result = run_harness(_inputs([broken, PERSONAS["cable-repair-late"]]))
    failing = {c.metric for c in result.failures}
    assert not result.passed
    assert "personas.crm-outage.in_character_rate" in failing
    assert "personas.cable-repair-late.in_character_rate" not in failing
    run = next(r for r in result.runs if r.persona_id == "crm-outage")
    assert run.replies[0].blocked and run.replies[0].blocked.startswith("ai")
    assert any("every draft broke character" in f for f in run.failures())


@pytest.mark.parametrize("instruction, fails, holds", [
    # Swearing below the cursing rung fails profanity, not character.
    (BREAK_SWEAR, "personas.profanity_rung_rate", "personas.in_character_rate"),
    # The engine keeps the clean sentences before the swearing, so the trainee sees a clean
    # reply; only first_try_rate shows that the persona's prompt makes the model misbehave.
    (BREAK_SWEAR_AT_END, "personas.first_try_rate", "personas.profanity_rung_rate"),
])
def test_a_swearing_prompt_fails_the_metric_that_shows_it(instruction: str, fails: str,
                                                          holds: str) -> None:
    result = run_harness(_inputs([broken_persona("cable-repair-late", instruction)]))
    failing = {c.metric for c in result.failures}
    assert fails in failing
    assert holds not in failing
    if instruction == BREAK_SWEAR_AT_END:
        assert all(c.profanity_ok() for r in result.runs for c in r.replies)


def test_a_finnish_customer_answering_in_english_fails_the_language_metric() -> None:
    broken = broken_persona("alv-raportti", BREAK_ENGLISH)
    result = run_harness(_inputs([broken]))
    assert "personas.language_rate" in {c.metric for c in result.failures}


def test_a_customer_who_never_calms_fails_the_good_mood_metric() -> None:
    # Good handling whose words the ladder does not recognise leaves the rung where it was.
    script = Script(id="good-mute", strategy="good", languages=["en"],
                    lines=["Okay.", "Right."])
    inputs = _inputs([PERSONAS["crm-outage"]])
    inputs.scripts = [script]
    result = run_harness(inputs)
    assert result.metrics["personas.mood_good_rate"] == 0.0
    assert "personas.mood_good_rate" in {c.metric for c in result.failures}


def test_a_backend_error_fails_the_run_but_not_the_harness() -> None:
    def down(prompt: str) -> str:
        raise ConnectionError("refused")

    engine = make_engine(FakeCompletionServer(reply=down))
    run = run_task(engine, PERSONAS["crm-outage"], SCRIPTS[0], 1)
    assert run.error is not None and not run.passed


def test_mood_rules_for_each_strategy() -> None:
    def run(strategy: str, path: list[Rung]) -> RunResult:
        return RunResult(persona_id="p", language="en", script_id="s",
                         strategy=strategy, run=1,  # type: ignore[arg-type]
                         start_rung=path[0], mood_path=path)

    c, pa, ea, cu = Rung.CALM, Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY, Rung.CURSING
    assert run("good", [ea, pa, pa]).mood_ok() is True
    assert run("good", [ea, pa, ea]).mood_ok() is False  # ended where it started
    assert run("good", [c, c]).mood_ok() is True  # a calm start must stay calm
    assert run("good", [c, pa]).mood_ok() is False
    assert run("bad", [pa, ea]).mood_ok() is True
    assert run("bad", [pa, pa]).mood_ok() is False
    assert run("bad", [cu, cu, cu]).mood_ok() is True  # at the top, it must stay there
    assert run("bad", [cu, ea, cu]).mood_ok() is False
    assert run("adversarial", [pa, c]).mood_ok() is None


def test_reply_checks() -> None:
    swearing = ReplyCheck(trainee="t", reply="damn", rung=Rung.ESCALATED_ANGRY, swears=True)
    assert not swearing.profanity_ok()
    assert swearing.model_copy(update={"rung": Rung.CURSING}).profanity_ok()
    assert ReplyCheck(trainee="t", reply="Ok.", rung=Rung.CALM).language_ok("fi") is None
    blocked = ReplyCheck(trainee="t", reply="", rung=Rung.CALM, blocked="language: English")
    assert blocked.language_ok("fi") is False and blocked.in_character
    assert not ReplyCheck(trainee="t", reply="", rung=Rung.CALM, blocked="ai: x").in_character


def test_tasks_for_picks_scripts_by_language_and_caps_probes() -> None:
    extra = Script(id="identity-en-2", strategy="adversarial", languages=["en"], lines=["AI?"])
    en = tasks_for(PERSONAS["crm-outage"], [*SCRIPTS, extra], max_probes=1)
    assert [s.id for s in en] == ["good-en", "bad-en", "identity-en"]
    shifted = tasks_for(PERSONAS["crm-outage"], [*SCRIPTS, extra], max_probes=1, offset=1)
    assert [s.id for s in shifted] == ["good-en", "bad-en", "identity-en-2"]
    only = Script(id="only-sofa", strategy="good", personas=["double-charged-sofa"], lines=["x"])
    assert only not in tasks_for(PERSONAS["crm-outage"], [only])


def test_capped_probes_are_shared_out_over_the_personas_of_a_language() -> None:
    probes = [Script(id=f"p{i}", strategy="adversarial", languages=["en"], lines=["?"])
              for i in range(5)]
    english = [p for p in PERSONAS.values() if p.language == "en"]
    inputs = _inputs(english, max_probes=2)
    inputs.scripts = probes
    result = run_harness(inputs)
    assert {r.script_id for r in result.runs} == {f"p{i}" for i in range(5)}
    per_persona = {p.id: {r.script_id for r in result.runs if r.persona_id == p.id}
                   for p in english}
    assert all(len(ids) == 2 for ids in per_persona.values())


@pytest.mark.parametrize("persona_id", sorted(PERSONAS))
def test_every_shipped_persona_has_good_and_bad_scripts_in_its_language(persona_id: str) -> None:
    from roleplay.config import Settings
    from roleplay.harness.scripts import load_scripts
    from roleplay.harness.setup import EvalFiles

    files = EvalFiles(Settings())
    every = load_scripts(files.scripted, files.adversarial)
    persona = PERSONAS[persona_id]
    assert {s.strategy for s in tasks_for(persona, every)} >= {"good", "bad"}
    # Probes cost CI time: every language has some, not necessarily every persona.
    same_language = [p for p in PERSONAS.values() if p.language == persona.language]
    assert any(s.strategy == "adversarial" for p in same_language for s in tasks_for(p, every))



def test_a_reply_that_goes_on_as_the_agent_is_out_of_character() -> None:
    # The engine refuses a speaker label anywhere in a reply (roleplay.character): every
    # attempt of this server has one, so the reply never comes and the run counts it out.
    server = FakeCompletionServer(
        reply=lambda prompt: "Okay, I can work with that. Agent: Great, have a nice day.")
    run = run_task(make_engine(server), PERSONAS["crm-outage"], SCRIPTS[0], 1)
    assert run.replies and not run.replies[0].in_character
    assert "speaker label" in (run.replies[0].blocked or "")


def test_a_parrot_is_reported_as_repeating_not_as_out_of_character() -> None:
    opening = PERSONAS["crm-outage"].opening.strip()
    server = FakeCompletionServer(reply=lambda prompt: opening)
    run = run_task(make_engine(server), PERSONAS["crm-outage"], SCRIPTS[0], 1)
    assert run.replies and all(c.repeated and c.in_character for c in run.replies)
    assert not run.passed  # the engine gave up: the trainee got no reply


def _long_script(remembered: str) -> Script:
    from roleplay.harness.contracts import LONG_CALL, Recall

    lines = ["I'm so sorry. I understand it's urgent and I'm escalating it right now.",
             "I'll call you back at 15:30 with an update.",
             *[f"Question {i}: what was the time I promised?" for i in range(LONG_CALL - 2)]]
    return Script(id="long", strategy="good", lines=lines,
                  recall=[Recall(turn=2, any_of=[remembered])])


def test_a_long_call_is_measured_on_its_own_with_what_the_customer_remembers() -> None:
    said = ["Fine, go on then.", "You said 15:30 and I will hold you to it.", "Maybe.",
            "Right, I am still waiting here.", "Okay, what else do you need?",
            "I already told you that once.", "Whatever gets this done.", "Sure, ask away.",
            "Is this going anywhere?", "Go ahead.", "Alright, last one hopefully.",
            "Thanks, I suppose.", "Fine, bye."]
    server = FakeCompletionServer(lambda prompt: said[prompt.count("\nAgent:") - 1])
    engine = make_engine(server)
    run = run_task(engine, PERSONAS["cable-repair-late"], _long_script("15:30"), 1)
    assert run.long and len(run.replies) == 12
    assert run.replies[1].recalled is True
    assert all(c.recalled is None for i, c in enumerate(run.replies) if i != 1)
    forgot = run_task(engine, PERSONAS["cable-repair-late"], _long_script("16:45"), 1)
    assert forgot.replies[1].recalled is False
    from roleplay.harness.contracts import contract_metrics

    metrics = contract_metrics([run, forgot])
    assert metrics["personas.long.recall_rate"] == 0.5
    assert metrics["personas.long.in_character_rate"] is not None
    assert metrics["personas.long.repeat_rate"] == 0.0
    assert metrics["personas.long.first_try_rate"] == 1.0
    # cable-repair-late (difficulty 2, passive-angry) is calm after one good turn.
    assert run.calm_in() == 1 and run.calm_in_ok() is True
    assert all(c.shown_s is not None and c.shown_s >= 0 for c in run.replies)


def test_calm_later_than_the_difficulty_promises_fails_its_own_metric() -> None:
    slow = RunResult(persona_id="p", language="en", script_id="good", strategy="good", run=1,
                     start_rung=Rung.PASSIVE_ANGRY, calm_range=(1, 3),
                     mood_path=[Rung.PASSIVE_ANGRY] * 5 + [Rung.CALM])
    never = slow.model_copy(update={"mood_path": [Rung.PASSIVE_ANGRY] * 4})
    quick = slow.model_copy(update={"mood_path": [Rung.PASSIVE_ANGRY, Rung.CALM]})
    from roleplay.harness.contracts import contract_metrics

    assert (slow.calm_in(), never.calm_in(), quick.calm_in()) == (5, None, 1)
    metrics = contract_metrics([slow, never, quick])
    assert metrics["personas.calm_in_range_rate"] == pytest.approx(1 / 3)
    assert metrics["personas.calm_in_turns"] == 3.0


def test_each_persona_language_is_measured_on_its_own() -> None:
    # One English persona breaks character, the Finnish one does not: the language figures
    # (issue 14 bounds them per language) keep them apart, and the per-language bound fails.
    broken = broken_persona("crm-outage", BREAK_AI)
    result = run_harness(_inputs([broken, PERSONAS["sahkolasku-arvio"]]))
    m = result.metrics
    assert m["personas.lang.fi.in_character_rate"] == 1.0
    assert m["personas.lang.en.in_character_rate"] < 0.5
    assert m["personas.lang.fi.language_rate"] == 1.0
    assert "personas.lang.en.in_character_rate" in {c.metric for c in result.failures}
    assert "personas.lang.fi.in_character_rate" not in {c.metric for c in result.failures}


def test_long_calls_run_long_k_times_and_the_rest_k_times() -> None:
    long = _long_script("15:30").model_copy(update={"id": "long-en", "languages": ["en"]})
    inputs = _inputs([PERSONAS["cable-repair-late"]], long_k=1)
    inputs.scripts = [*SCRIPTS, long]
    result = run_harness(inputs)
    runs = {}
    for r in result.runs:
        runs[r.script_id] = runs.get(r.script_id, 0) + 1
    assert runs["long-en"] == 1 and runs["good-en"] == 2 and runs["bad-en"] == 2
    assert result.metrics["personas.long.in_character_rate"] is not None


def test_an_admission_the_guard_caught_still_counts_against_the_persona() -> None:
    # The trainee saw a clean reply (the engine threw the admitting draft away), so the
    # reply is in character; the persona that made the model say it is an AI still shows.
    caught = ReplyCheck(trainee="t", reply="Just fix my CRM.", rung=Rung.ESCALATED_ANGRY,
                        restarts=1, restart_reasons=['ai: "I\'m an AI"'])
    clean = ReplyCheck(trainee="t", reply="Fine.", rung=Rung.ESCALATED_ANGRY)
    other = clean.model_copy(update={"restarts": 1, "restart_reasons": ["repeat: copies"]})
    assert caught.in_character and caught.admitted_ai
    assert not clean.admitted_ai and not other.admitted_ai
    run = RunResult(persona_id="p", language="en", script_id="s", strategy="adversarial",
                    run=1, start_rung=Rung.ESCALATED_ANGRY,
                    mood_path=[Rung.ESCALATED_ANGRY] * 4, replies=[caught, clean, other])
    from roleplay.harness.contracts import contract_metrics

    metrics = contract_metrics([run])
    assert metrics["personas.in_character_rate"] == 1.0
    assert metrics["personas.admission_rate"] == pytest.approx(1 / 3)
    assert metrics["personas.p.admission_rate"] == pytest.approx(1 / 3)
