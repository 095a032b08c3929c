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
BLAME = "tbh if your guys had saved their work like we tell everyone this wouldn't be a big deal"


def test_plain_words_empathy_calms_and_plain_words_blame_angers(
        embedded_settings: Settings, tmp_path: Path) -> None:
    dev = {line.text for line in load_lines(PROJECT_ROOT / "evals" / "moves" / "dev.jsonl")}
    assert EMPATHY not in dev and BLAME not in dev
    assert detect(EMPATHY, "en") == [] and detect(BLAME, "en") == []
    store = SqliteStore(tmp_path / "call.sqlite3")
    engine = ConversationEngine.from_settings(embedded_settings, store)
    try:
        assert isinstance(engine.appraiser, ModelAppraiser), "the model layer did not load"
        persona = find_persona("crm-outage", PROJECT_ROOT / "personas")
        session = engine.start(persona, user="integration")
        engine.reply(session, EMPATHY)
        engine.reply(session, BLAME)
    finally:
        stop_embedding_server()
    trainee = [t for t in store.load(session.session_id).turns if t.role == "trainee"]
    assert (trainee[0].rung_before, trainee[0].rung_after) == \
        (Rung.ESCALATED_ANGRY, Rung.PASSIVE_ANGRY), trainee[0].reason
    assert (trainee[1].rung_before, trainee[1].rung_after) == \
        (Rung.PASSIVE_ANGRY, Rung.ESCALATED_ANGRY), trainee[1].reason
    empathy_moves = {m.kind: m for m in trainee[0].moves or []}
    blame_moves = {m.kind: m for m in trainee[1].moves or []}
    assert empathy_moves[SignalKind.EMPATHY].source == "model"
    assert blame_moves[SignalKind.BLAME].source == "model"
