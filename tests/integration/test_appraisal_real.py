"""The appraisal on the real embedded model: plain-words empathy and blame move the ladder.

The lines are not in evals/moves/dev.jsonl (the classifier never saw them) and no phrase list
hears them: the test checks that first, so it fails if a lexicon learns them and the model
layer is no longer what is tested.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roleplay.appraisal import ModelAppraiser
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.embedding import stop_embedding_server
from roleplay.harness.moves import load_lines
from roleplay.mood import Rung
from roleplay.personas import find_persona
from roleplay.signals import SignalKind, detect
from roleplay.store import SqliteStore

pytestmark = pytest.mark.integration

EMPATHY = "man, being stuck all morning with the whole team idle, i'd be climbing the walls too"
EMPATHY_AGAIN = "honestly that sounds exhausting, i'd be sick of it by now too"
BLAME = "tbh if your guys had saved their work like we tell everyone this wouldn't be a big deal"


def test_plain_words_empathy_calms_and_plain_words_blame_angers(
        embedded_settings: Settings, tmp_path: Path) -> None:
    dev = {line.text for line in load_lines(PROJECT_ROOT / "evals" / "moves" / "dev.jsonl")}
    assert not {EMPATHY, EMPATHY_AGAIN, BLAME} & dev
    assert all(detect(line, "en") == [] for line in (EMPATHY, EMPATHY_AGAIN, BLAME))
    store = SqliteStore(tmp_path / "call.sqlite3")
    engine = ConversationEngine.from_settings(embedded_settings, store)
    try:
        assert isinstance(engine.appraiser, ModelAppraiser), "the model layer did not load"
        persona = find_persona("crm-outage", PROJECT_ROOT / "personas")
        session = engine.start(persona, user="integration")
        # crm-outage (difficulty 3) needs two good turns on a rung before stepping down.
        assert persona.patience.need(persona.difficulty) == 2
        engine.reply(session, EMPATHY)
        engine.reply(session, EMPATHY_AGAIN)
        engine.reply(session, BLAME)
    finally:
        stop_embedding_server()
    trainee = [t for t in store.load(session.session_id).turns if t.role == "trainee"]
    assert [(t.rung_before, t.rung_after) for t in trainee] == [
        (Rung.ESCALATED_ANGRY, Rung.ESCALATED_ANGRY), (Rung.ESCALATED_ANGRY, Rung.PASSIVE_ANGRY),
        (Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY)], [t.reason for t in trainee]
    for turn, kind in zip(trainee, (SignalKind.EMPATHY, SignalKind.EMPATHY, SignalKind.BLAME)):
        moves = {m.kind: m for m in turn.moves or []}
        assert moves[kind].source == "model", turn.reason
