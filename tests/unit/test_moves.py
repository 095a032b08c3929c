"""The trainee-move vocabulary: one entry per kind, read by the ladder and the persona schema,
and every kind a persona may list in `raises` or `lowers` runs a call turn."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from _engine_fakes import scripted_engine

from roleplay.config import PROJECT_ROOT
from roleplay.errors import RubricError
from roleplay.mood import Rung, appraise, next_rung
from roleplay.personas import load_persona, persona_schema, signal_help
from roleplay.rubric import load_rubric
from roleplay.signals import HARMFUL, HELPFUL, MOVES, Signal, SignalKind, detect
from roleplay.store import SqliteStore

PROMPTS = PROJECT_ROOT / "prompts"
BASE_PERSONA = PROJECT_ROOT / "personas" / "crm-outage.yaml"

# One English trainee line per kind, each found by the lexicon (the first test checks that).
SAYS: dict[SignalKind, str] = {
    SignalKind.EMPATHY: "I completely understand how frustrating this is.",
    SignalKind.APOLOGY: "I'm so sorry.",
    SignalKind.URGENCY: "I know every minute costs you money.",
    SignalKind.NEXT_STEP: "I'm escalating this to the on-call engineers right now.",
    SignalKind.TIME_COMMITMENT: "I'll call you back in 30 minutes.",
    SignalKind.OWNERSHIP: "I'll stay on this personally.",
    SignalKind.LISTENING: "Can you tell me what error you see?",
    SignalKind.BOUNDARY: "I'm here to help, but the cursing gets in the way.",
    SignalKind.CALLBACK_OFFER: "Would it help if I call you back in a bit when things are calmer?",
    SignalKind.FOLLOW_UP: "I'll email you a summary.",
    SignalKind.PERSONAL: "Dana, thanks.",
    SignalKind.POLICY_NO: "I can't refund that, but what I can do is offer a credit.",
    SignalKind.FACE_SAVING: "That's an easy mistake to make, it happens to everyone.",
    SignalKind.GUIDING: "Let's go step by step. What do you see on the screen?",
    SignalKind.ARGUING: "That's not true.",
    SignalKind.BLAME: "It is your fault.",
    SignalKind.CORRECTING: "Actually, it's called a workspace, not a folder.",
    SignalKind.JARGON: "Your ticket is in the L2 queue.",
    SignalKind.TRANSFER: "I'll transfer you to the IT team.",
    SignalKind.DISMISSIVE: "Calm down.",
    SignalKind.GIVING_AWAY: "I'll give you a full refund and a year free.",
    SignalKind.PROFANITY: "This is damn annoying.",
    SignalKind.WINNING: "As I said, I was right.",
    SignalKind.HOSTILE: "Don't shout at me!",
    SignalKind.INTERRUPTING: "Let me stop you right there.",
    SignalKind.VAGUE: "Someone will get back to you soon.",
    SignalKind.SELF_FOCUS: "I have other customers waiting.",
}
ALL = list(SignalKind)


def test_every_kind_has_exactly_one_entry_and_is_helpful_or_harmful() -> None:
    assert set(MOVES) == set(SignalKind)
    assert HELPFUL | HARMFUL == set(SignalKind) and not HELPFUL & HARMFUL
    for kind, move in MOVES.items():
        assert move.means and move.heard, kind
        assert move.help.startswith("helpful: " if kind in HELPFUL else "harmful: ")


def test_the_persona_schema_describes_every_kind_from_the_table() -> None:
    kinds = persona_schema()["$defs"]["SignalKind"]
    assert kinds["enumDescriptions"] == [MOVES[SignalKind(v)].help for v in kinds["enum"]]
    assert all(signal_help(kind) == MOVES[kind].help for kind in SignalKind)


@pytest.mark.parametrize("kind", ALL, ids=[k.value for k in ALL])
def test_each_sample_line_shows_its_kind(kind: SignalKind) -> None:
    assert kind in {s.kind for s in detect(SAYS[kind], "en", customer_name="Dana Kowalski")}


@pytest.mark.parametrize("kind", ALL, ids=[k.value for k in ALL])
def test_next_rung_gives_the_heard_reason_for_every_kind_either_way(kind: SignalKind) -> None:
    signal = Signal(kind=kind, quote="the words", start=0, end=9)
    up = next_rung(Rung.PASSIVE_ANGRY, [signal], lowers=[], raises=[kind])
    down = next_rung(Rung.PASSIVE_ANGRY, [signal], lowers=[kind], raises=[])
    assert (up.after, up.reason.startswith(f"up: {MOVES[kind].heard}")) == \
        (Rung.ESCALATED_ANGRY, True)
    assert (down.after, down.reason.startswith(f"down: {MOVES[kind].heard}")) == (Rung.CALM, True)
    assert ('("the words")' in up.reason) == MOVES[kind].quoted


@pytest.mark.parametrize("kind", ALL, ids=[k.value for k in ALL])
def test_appraise_on_the_cursing_rung_never_fails_for_any_kind(kind: SignalKind) -> None:
    change = appraise(SAYS[kind], Rung.CURSING, lowers=[kind], raises=[SignalKind.BLAME],
                      customer_name="Dana Kowalski")
    assert MOVES[kind].heard in change.reason


def _persona_file(tmp_path: Path, lowers: list[SignalKind], raises: list[SignalKind]) -> Path:
    data = yaml.safe_load(BASE_PERSONA.read_text(encoding="utf-8"))
    data["lowers"] = [k.value for k in lowers]
    data["raises"] = [k.value for k in raises]
    # One good turn per rung, so that a single turn shows which way each kind moves it.
    data["patience"] = {"turns_per_rung": 1}
    path = tmp_path / "crm-outage.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _one_turn(tmp_path: Path, lowers: list[SignalKind], raises: list[SignalKind],
              kind: SignalKind) -> tuple[Rung | None, str | None]:
    persona = load_persona(_persona_file(tmp_path, lowers, raises))
    engine, _ = scripted_engine(["Fine. Go on."], SqliteStore(tmp_path / "s.db"), PROMPTS)
    session = engine.start(persona)
    engine.reply(session, SAYS[kind])
    trainee = session.transcript.turns[-2]
    return trainee.rung_after, trainee.reason


# A persona must list `boundary` in `lowers`, so `raises: [boundary]` never validates; the
# ladder test above covers that pair.
RAISED = [k for k in ALL if k != SignalKind.BOUNDARY]


@pytest.mark.parametrize("kind", RAISED, ids=[k.value for k in RAISED])
def test_a_persona_raised_by_any_kind_runs_a_call_turn(tmp_path: Path, kind: SignalKind) -> None:
    rung, reason = _one_turn(tmp_path, [SignalKind.BOUNDARY], [kind], kind)
    assert rung == Rung.CURSING  # crm-outage starts escalated-angry
    assert reason is not None and reason.startswith(f"up: {MOVES[kind].heard}")


@pytest.mark.parametrize("kind", ALL, ids=[k.value for k in ALL])
def test_a_persona_calmed_by_any_kind_runs_a_call_turn(tmp_path: Path, kind: SignalKind) -> None:
    lowers = list(dict.fromkeys([SignalKind.BOUNDARY, kind]))
    raises = [SignalKind.BLAME if kind != SignalKind.BLAME else SignalKind.ARGUING]
    rung, reason = _one_turn(tmp_path, lowers, raises, kind)
    assert rung == Rung.PASSIVE_ANGRY
    assert reason is not None and MOVES[kind].heard in reason


def test_the_rubric_refuses_a_move_on_the_wrong_side(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "prompts" / "rubric.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rubric.yaml"
    path.write_text(text.replace("bad_signals: [blame]", "bad_signals: [blame, empathy]", 1),
                    encoding="utf-8")
    assert load_rubric(PROJECT_ROOT / "prompts" / "rubric.yaml").principles
    with pytest.raises(RubricError) as err:
        load_rubric(path)
    assert "'empathy' is a helpful move" in str(err.value)
    assert "bad_signals" in str(err.value) and "rubric.yaml:" in str(err.value)
