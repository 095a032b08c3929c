"""Hints during the call (roleplay.hints): the principle that matters now, from the appraisal."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.appraisal import LexicalAppraiser
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.hints import hints_on, load_hints, next_hint
from roleplay.mood import next_rung
from roleplay.personas import Persona, find_persona
from roleplay.signals import SignalKind
from roleplay.transcript import Transcript, Turn

SETTINGS = Settings()


def persona(pid: str) -> Persona:
    return find_persona(pid, SETTINGS.personas_dir)


def said(p: Persona, transcript: Transcript, line: str, reply: str) -> Transcript:
    """The transcript after the trainee's `line`, appraised as the engine does, and `reply`."""
    appraisal = LexicalAppraiser().appraise(line, language=p.language,
                                            customer_name=p.customer.name)
    rung = transcript.rung or p.start_rung
    change = next_rung(rung, appraisal.signals(), p.lowers, p.raises)
    turns = [*transcript.turns,
             Turn(role="trainee", content=line, rung_before=change.before,
                  rung_after=change.after, reason=change.reason, moves=appraisal.moves),
             Turn(role="customer", content=reply, rung_after=change.after)]
    return Transcript(turns=turns)


def opening(p: Persona) -> Transcript:
    return Transcript(turns=[Turn(role="customer", content=p.opening, rung_after=p.start_rung)])


def test_a_cue_in_the_customer_line_gives_its_hint_with_the_customer_words() -> None:
    p, hints = persona("crm-outage"), load_hints(SETTINGS.prompts_dir)
    t = said(p, opening(p), "Hello, how can I help?",
             "Every minute this is down costs us money, it's urgent!")
    hint = next_hint(hints, p, t)
    assert hint is not None and hint.move == SignalKind.URGENCY
    assert "acknowledge the urgency" in hint.text and '"' in hint.text
    assert hint.example and "priority" in hint.example


def test_a_cue_already_answered_gives_the_next_missing_move() -> None:
    p, hints = persona("crm-outage"), load_hints(SETTINGS.prompts_dir)
    t = said(p, opening(p), "I know every minute counts, this is urgent for me too.",
             "Every minute this is down costs us money!")
    hint = next_hint(hints, p, t)
    assert hint is not None and hint.move not in (SignalKind.URGENCY, None)
    assert hint.move in p.lowers


def test_a_harmful_move_of_the_last_line_is_named_with_its_words() -> None:
    p, hints = persona("crm-outage"), load_hints(SETTINGS.prompts_dir)
    t = said(p, opening(p), "Calm down, there's nothing I can do.", "Excuse me?!")
    hint = next_hint(hints, p, t)
    assert hint is not None and hint.move is None and hint.example is None
    assert "angered them" in hint.text


def test_hints_are_in_the_persona_language() -> None:
    p, hints = persona("alv-raportti"), load_hints(SETTINGS.prompts_dir)
    assert p.language == "fi"
    hint = next_hint(hints, p, opening(p))
    assert hint is not None and hint.text in {
        *hints.languages["fi"].cues.values(), *(m.hint for m in hints.languages["fi"].moves.values())}


@pytest.mark.parametrize("pid", ["galda-rezervacija", "kabeltv-szerelo-kesik",
                                 "mobilfaktura-utland"])
def test_every_seed_language_has_its_own_hints(pid: str) -> None:
    p, hints = persona(pid), load_hints(SETTINGS.prompts_dir)
    assert p.language in {"lv", "hu", "no"}
    hint = next_hint(hints, p, opening(p))
    own = hints.languages[p.language]
    assert hint is not None and hint.text in {
        *own.cues.values(), own.avoid, *(m.hint for m in own.moves.values())}
    assert hint.text not in {m.hint for m in hints.languages["en"].moves.values()}


def test_no_hint_while_the_customer_has_not_answered() -> None:
    p, hints = persona("crm-outage"), load_hints(SETTINGS.prompts_dir)
    t = opening(p)
    t.turns.append(Turn(role="trainee", content="Hello"))
    assert next_hint(hints, p, t) is None


def test_hints_are_off_in_assessment_mode_and_when_the_user_or_scenario_turns_them_off(
        tmp_path: Path) -> None:
    p, hints = persona("crm-outage"), load_hints(SETTINGS.prompts_dir)
    assert hints_on(hints, p, user_wants=True, assessment=False)
    assert not hints_on(hints, p, user_wants=True, assessment=True)
    assert not hints_on(hints, p, user_wants=False, assessment=False)
    text = (SETTINGS.prompts_dir / "hints.yaml").read_text("utf-8")
    (tmp_path / "hints.yaml").write_text(
        text.replace("scenarios: {}", "scenarios: {crm-outage: false}"), "utf-8")
    assert not hints_on(load_hints(tmp_path), p, user_wants=True, assessment=False)


def test_a_language_missing_a_move_is_a_config_error_naming_it(tmp_path: Path) -> None:
    text = (SETTINGS.prompts_dir / "hints.yaml").read_text("utf-8")
    kept = [line for line in text.splitlines() if not line.startswith("      guiding:")]
    (tmp_path / "hints.yaml").write_text("\n".join(kept), "utf-8")
    with pytest.raises(ConfigError, match="guiding"):
        load_hints(tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        load_hints(tmp_path / "nowhere")
