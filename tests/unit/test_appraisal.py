"""The appraisal of trainee lines on a fake embedding client: the lexical layer, the trained
classifier hearing what the phrase lists miss, the engine storing the moves and moving the
ladder with them, the HTTP client on a mocked wire, and the fallbacks."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest
from _engine_fakes import ScriptedServer, scripted_model

from roleplay.appraisal import (
    AppraisalModel,
    AppraisalModelError,
    LexicalAppraiser,
    ModelAppraiser,
    appraiser_from_settings,
    shipped_recipe,
)
from roleplay.config import PROJECT_ROOT, Settings
from roleplay.conversation import ConversationEngine
from roleplay.embedding import BATCH, MEAN, RECIPES, HttpEmbeddingClient, Recipe
from roleplay.errors import BackendError
from roleplay.harness.moves import (
    CachedEmbeddings,
    LabelledLine,
    load_lines,
    scores,
    sibling_groups,
    train,
)
from roleplay.mood import Rung
from roleplay.personas import find_persona
from roleplay.signals import SignalKind, detect
from roleplay.store import SqliteStore
from roleplay.transcript import Turn

DIM = 64
BLAME_LINE = "well you should've checked the delivery date then, shouldn't you"
EMPATHY_LINE = "god, what a nightmare, i'd be livid in your shoes"
TOY_L2_GRID = (1e-2, 3e-2, 1e-1)
"""21 toy lines need a choice of penalties; the shipped grid is sized for the dev set."""


class WordHashEmbeddings:
    """A stand-in for the model's embeddings: a normalised bag of hashed words."""

    model_id = "fake-embeddings"
    recipe = MEAN

    def __init__(self) -> None:
        self.calls: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.extend(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _lines() -> list[LabelledLine]:
    # Some listed ("you should have"), some not: the classifier reads the lists' hits as
    # one feature among others, so it must learn blame from both.
    blame = ["you should have checked the date", "you never read the email then",
             "well you should have checked it yourself", "you never checked your order",
             "honestly you never checked before", "you should have read it first",
             "you never checked the form"]
    empathy = ["what a nightmare, i would be livid", "that sounds like a nightmare honestly",
               "i would be livid too", "ugh what a nightmare for you", "anyone would be livid",
               "nightmare, i'd be livid in your place", "livid, yeah, what a nightmare"]
    neutral = ["the order number is 1234", "the van left the depot", "it is tuesday today",
               "the form has three pages", "my screen shows the account", "the date is the fifth",
               "we opened at nine"]
    rows = [(t, ["blame"]) for t in blame] + [(t, ["empathy"]) for t in empathy] + [
        (t, []) for t in neutral]
    return [LabelledLine(id=str(i), language="en", text=t, moves=[SignalKind(m) for m in ms])
            for i, (t, ms) in enumerate(rows)]


@pytest.fixture(scope="module")
def trained() -> AppraisalModel:
    # Embeddings alone: these tests are about the embedding path (n-grams: test_ngrams.py).
    model, _ = train(_lines(), WordHashEmbeddings(), dev_sha256="test", ngram_buckets=0,
                     l2_grid=TOY_L2_GRID)
    return model


def test_the_example_lines_are_not_in_the_phrase_lists() -> None:
    # The premise of the model layer: these plain words are what the lexicon misses.
    assert detect(BLAME_LINE, "en") == [] and detect(EMPATHY_LINE, "en") == []
    assert LexicalAppraiser().appraise(BLAME_LINE, "en").moves == []


def test_the_classifier_hears_plain_words_blame_and_empathy(trained: AppraisalModel) -> None:
    appraiser = ModelAppraiser(WordHashEmbeddings(), trained)
    blame = appraiser.appraise(BLAME_LINE, "en")
    empathy = appraiser.appraise(EMPATHY_LINE, "en")
    assert blame.kinds == {SignalKind.BLAME} and empathy.kinds == {SignalKind.EMPATHY}
    (move,) = blame.moves
    assert move.source == "model" and 0 < move.confidence <= 1
    assert BLAME_LINE[move.start:move.end] == move.quote == BLAME_LINE
    assert appraiser.appraise("the van left the depot", "en").moves == []


def test_a_listed_phrase_is_quoted_exactly_and_not_asked_of_the_model_again(
        trained: AppraisalModel) -> None:
    text = "Calm down, you should have checked the date."
    appraisal = ModelAppraiser(WordHashEmbeddings(), trained).appraise(text, "en")
    lexical = [m for m in appraisal.moves if m.source == "lexicon"]
    assert lexical and all(text[m.start:m.end] == m.quote and m.confidence == 1.0
                           for m in lexical)
    assert len({m.kind for m in appraisal.moves}) == len(appraisal.moves)


def test_the_model_saves_and_loads_with_its_metadata(trained: AppraisalModel,
                                                     tmp_path: Path) -> None:
    trained.save(tmp_path)
    loaded = AppraisalModel.load(tmp_path)
    assert loaded.meta == trained.meta
    x = trained.features(WordHashEmbeddings().embed([BLAME_LINE]), ["en"], [BLAME_LINE])
    assert np.allclose(loaded.probabilities(x), trained.probabilities(x), atol=0.02)
    with pytest.raises(AppraisalModelError, match="roleplay appraise train"):
        AppraisalModel.load(tmp_path / "missing")


def test_embeddings_of_another_model_are_refused(trained: AppraisalModel) -> None:
    other = WordHashEmbeddings()
    other.model_id = "another-gguf"
    with pytest.raises(AppraisalModelError, match="retrain"):
        ModelAppraiser(other, trained)


def test_a_failing_embedding_server_leaves_the_phrase_lists(
        trained: AppraisalModel, caplog: pytest.LogCaptureFixture) -> None:
    class Broken(WordHashEmbeddings):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            raise BackendError("connection refused")

    with caplog.at_level(logging.WARNING, logger="roleplay.appraisal"):
        appraisal = ModelAppraiser(Broken(), trained).appraise("Calm down.", "en")
    assert appraisal.appraiser == "lexicon" and appraisal.kinds == {SignalKind.DISMISSIVE}
    assert "phrase lists only" in caplog.text


def test_a_remote_backend_gets_the_phrase_lists() -> None:
    appraiser = appraiser_from_settings(Settings(base_url="http://127.0.0.1:9/v1"))
    assert isinstance(appraiser, LexicalAppraiser)


def test_the_engine_moves_the_ladder_on_model_moves_and_stores_them(
        trained: AppraisalModel, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "t.sqlite3")
    server = ScriptedServer(["Checked it? Seriously?", "Okay. Now fix it!"])
    engine = ConversationEngine(scripted_model(server), store, PROJECT_ROOT / "prompts",
                                appraiser=ModelAppraiser(WordHashEmbeddings(), trained))
    persona = find_persona("crm-outage", PROJECT_ROOT / "personas")
    assert SignalKind.BLAME in persona.raises and SignalKind.EMPATHY in persona.lowers
    session = engine.start(persona)
    engine.reply(session, BLAME_LINE)
    engine.reply(session, EMPATHY_LINE)
    trainee = [t for t in store.load(session.session_id).turns if t.role == "trainee"]
    assert [(t.rung_before, t.rung_after) for t in trainee] == [
        (Rung.ESCALATED_ANGRY, Rung.CURSING), (Rung.CURSING, Rung.CURSING)]
    assert "blamed the customer" in (trainee[0].reason or "")
    assert [m.kind for m in trainee[0].moves or []] == [SignalKind.BLAME]
    assert [m.kind for m in trainee[1].moves or []] == [SignalKind.EMPATHY]


def test_empathy_in_plain_words_calms_the_customer(trained: AppraisalModel,
                                                   tmp_path: Path) -> None:
    engine = ConversationEngine(scripted_model(ScriptedServer(["Fine."])),
                                SqliteStore(tmp_path / "t.sqlite3"), PROJECT_ROOT / "prompts",
                                appraiser=ModelAppraiser(WordHashEmbeddings(), trained))
    # cable-repair-late needs one good turn per rung (crm-outage, difficulty 3, needs two).
    session = engine.start(find_persona("cable-repair-late", PROJECT_ROOT / "personas"))
    engine.reply(session, EMPATHY_LINE)
    turn = session.transcript.turns[1]
    assert (turn.rung_before, turn.rung_after) == (Rung.PASSIVE_ANGRY, Rung.CALM)


def test_an_old_database_without_the_moves_column_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE sessions (session_id TEXT PRIMARY KEY, persona_id TEXT NOT NULL,
                user TEXT, model TEXT, started_at TEXT NOT NULL, ended_at TEXT,
                sandbox INTEGER NOT NULL DEFAULT 0, score REAL, report TEXT);
            CREATE TABLE turns (session_id TEXT NOT NULL, idx INTEGER NOT NULL,
                role TEXT NOT NULL, content TEXT NOT NULL, rung_before TEXT, rung_after TEXT,
                reason TEXT, created_at TEXT NOT NULL, model TEXT,
                PRIMARY KEY (session_id, idx));
            INSERT INTO sessions VALUES ('s1', 'crm-outage', NULL, NULL,
                '2026-11-30T10:00:00+00:00', NULL, 0, NULL, NULL);
            INSERT INTO turns VALUES ('s1', 0, 'trainee', 'hello', NULL, NULL, NULL,
                '2026-11-30T10:00:01+00:00', NULL);
        """)
    store = SqliteStore(path)
    assert store.load("s1").turns[0].moves is None
    appraisal = LexicalAppraiser().appraise("Calm down.", "en")
    store.add_turn("s1", Turn(role="trainee", content="Calm down.", moves=appraisal.moves))
    assert SqliteStore(path).load("s1").turns[1].moves == appraisal.moves


def test_the_http_client_posts_lines_in_batches_and_normalises() -> None:
    seen: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        seen.append(texts)
        # Rows out of order, as a server may send them: the index puts them back.
        rows = [{"index": i, "embedding": [3.0 * (i + 1), 4.0]} for i in range(len(texts))]
        return httpx.Response(200, json={"data": rows[::-1]})

    client = HttpEmbeddingClient("http://x/v1", "m",
                                 http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    texts = [f"line {i}" for i in range(BATCH + 1)]
    vectors = client.embed(texts)
    assert seen == [texts[:BATCH], texts[BATCH:]]
    assert vectors.shape == (BATCH + 1, 2)
    assert np.allclose(vectors[0], [0.6, 0.8]) and np.allclose(vectors[-1], [0.6, 0.8])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


@pytest.mark.parametrize("response", [httpx.Response(500, text="boom"),
                                      httpx.Response(200, json={"error": "no embeddings"}),
                                      httpx.Response(200, json={"data": []})])
def test_the_http_client_turns_failures_into_backend_errors(response: httpx.Response) -> None:
    client = HttpEmbeddingClient(
        "http://x/v1", "m",
        http_client=httpx.Client(transport=httpx.MockTransport(lambda r: response)))
    with pytest.raises(BackendError, match="embedding server"):
        client.embed(["a"])


def test_scores_count_kinds_per_language_and_the_direction() -> None:
    lines = [LabelledLine(id="1", language="en", text="a", moves=[SignalKind.BLAME]),
             LabelledLine(id="2", language="en", text="b", moves=[SignalKind.EMPATHY]),
             LabelledLine(id="3", language="fi", text="c", moves=[SignalKind.EMPATHY]),
             LabelledLine(id="4", language="fi", text="d", moves=[])]
    predicted = [{SignalKind.BLAME}, {SignalKind.APOLOGY}, set(), {SignalKind.EMPATHY}]
    result = scores(lines, predicted)
    empathy = {s.language: s for s in result.kinds if s.kind == "empathy"}
    assert (empathy["all"].support, empathy["all"].predicted) == (2, 1)
    assert empathy["all"].precision == 0.0 and empathy["all"].recall == 0.0
    # en: blame->blame right, empathy->apology is still helpful: 2 of 2; fi: 0 of 1.
    assert result.direction == {"all": 2 / 3, "en": 1.0, "fi": 0.0}


def test_a_broken_record_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text('{"id": "1", "language": "en", "text": "x", "moves": []}\n'
                    '{"id": "2", "language": "en", "text": "x", "moves": ["nonsense"]}\n')
    with pytest.raises(Exception, match="line 2"):
        load_lines(path)


class PromptedEmbeddings(WordHashEmbeddings):
    """The same fake, standing for embeddings made by the last-token recipe."""

    recipe = RECIPES["eol"]


def test_the_http_client_wraps_each_line_in_its_recipe() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        seen.extend(texts)
        return httpx.Response(200, json={"data": [{"index": i, "embedding": [1.0, 0.0]}
                                                  for i in range(len(texts))]})

    recipe = Recipe(pooling="last", template='Agent: "{line}"\nIn one word:"')
    client = HttpEmbeddingClient("http://x/v1", "m", recipe=recipe,
                                 http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    client.embed(["use {code} 42", "ok"])
    # Braces in a line stay as typed: the line is put in literally, not str.format-ted.
    assert seen == ['Agent: "use {code} 42"\nIn one word:"', 'Agent: "ok"\nIn one word:"']


def test_a_recipe_needs_exactly_one_place_for_the_line() -> None:
    with pytest.raises(ValueError, match="exactly once"):
        Recipe(pooling="last", template="In one word:")
    assert RECIPES["eol"].wrap("zqx").count("zqx") == 1 and RECIPES["eol"].key != MEAN.key


def test_the_model_records_its_recipe_and_refuses_another(tmp_path: Path) -> None:
    model, _ = train(_lines(), PromptedEmbeddings(), dev_sha256="test", ngram_buckets=0,
                     l2_grid=TOY_L2_GRID)
    model.save(tmp_path)
    loaded = AppraisalModel.load(tmp_path)
    assert loaded.meta.embedding_recipe == RECIPES["eol"]
    assert ModelAppraiser(PromptedEmbeddings(), loaded).appraise(BLAME_LINE, "en").kinds
    with pytest.raises(AppraisalModelError, match="trained on last-.*makes mean ones.*retrain"):
        ModelAppraiser(WordHashEmbeddings(), loaded)
    # What `roleplay model-server` reads to serve the pooling this model needs.
    assert shipped_recipe(tmp_path) == RECIPES["eol"]
    assert shipped_recipe(tmp_path / "none") == MEAN


def test_a_meta_file_from_before_recipes_means_mean_pooling(trained: AppraisalModel,
                                                             tmp_path: Path) -> None:
    trained.save(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text("utf-8"))
    del meta["embedding_recipe"]
    (tmp_path / "meta.json").write_text(json.dumps(meta), "utf-8")
    assert AppraisalModel.load(tmp_path).meta.embedding_recipe == MEAN
    meta["embedding_recipe"] = {"pooling": "cls", "template": "{line}"}
    (tmp_path / "meta.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(AppraisalModelError, match="cannot read"):
        AppraisalModel.load(tmp_path)


class GroupEmbeddings:
    """One random vector per group number in the text: translations embed identically."""

    model_id = "fake-embeddings"
    recipe = MEAN

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        groups = [int(re.findall(r"\d+", text)[0]) for text in texts]
        return np.stack([np.random.default_rng(g).normal(size=DIM) for g in groups])


def test_cross_validation_never_trains_on_a_translation_of_the_line_it_scores() -> None:
    # 40 lines said twice (fi, no) with labels that follow no pattern: only a model that saw
    # the other translation could predict them, so honest CV is near chance, not near 1.
    labels = np.random.default_rng(7).permutation(["blame", "empathy"] * 20)
    lines = [LabelledLine(id=f"{lang}-{label}-{g}", language=lang, text=f"{word} {g}",
                          moves=[SignalKind(label)])
             for g, label in enumerate(labels) for lang, word in (("fi", "rivi"),
                                                                  ("no", "linje"))]
    assert sibling_groups(lines)[:3] == [f"{labels[0]}-0", f"{labels[0]}-0", f"{labels[1]}-1"]
    model, _ = train(lines, GroupEmbeddings(), dev_sha256="test", ngram_buckets=0,
                     l2_grid=(1e-3,))
    assert model.meta.cv["direction"]["all"] < 0.75


def test_cached_vectors_are_kept_apart_by_recipe(tmp_path: Path) -> None:
    path = tmp_path / "cache.npz"
    first = WordHashEmbeddings()
    CachedEmbeddings(first, path).embed(["hello there"])
    again, prompted = WordHashEmbeddings(), PromptedEmbeddings()
    CachedEmbeddings(again, path).embed(["hello there"])
    CachedEmbeddings(prompted, path).embed(["hello there"])
    assert first.calls == ["hello there"] and again.calls == []
    assert prompted.calls == ["hello there"]


def test_a_model_move_quotes_the_sentence_that_makes_it(trained: AppraisalModel) -> None:
    text = f"Okay.  {BLAME_LINE}? Right."
    client = WordHashEmbeddings()
    appraisal = ModelAppraiser(client, trained, quote_sentences=True).appraise(text, "en")
    blame = next(m for m in appraisal.moves if m.kind is SignalKind.BLAME)
    assert blame.source == "model" and blame.quote == f"{BLAME_LINE}?"
    assert text[blame.start:blame.end] == blame.quote
    # One request: the line (decides the moves) and its three sentences (pick the quote).
    assert len(client.calls) == 4 and client.calls[0] == text


def test_a_one_sentence_or_very_long_line_or_sentence_quotes_off_quote_it_whole(trained: AppraisalModel) -> None:
    long_line = f"Well. Checked it? The delivery date. Then. {BLAME_LINE}."
    two = f"Okay.  {BLAME_LINE}? Right."
    for text, quote_sentences in ((f"  {BLAME_LINE}\n", True), (long_line, True), (two, False)):
        client = WordHashEmbeddings()
        appraiser = ModelAppraiser(client, trained, quote_sentences=quote_sentences)
        blame = next(m for m in appraiser.appraise(text, "en").moves
                     if m.kind is SignalKind.BLAME)
        assert blame.quote == text.strip() and client.calls == [text]
