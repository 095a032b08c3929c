"""How the appraisal's two layers share the work: which phrase lists decide on their own, how
the classifier reads the lists' hits, models from before that still loading, and the
colloquial harmful phrases each language's list hears."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from test_appraisal import WordHashEmbeddings

from roleplay.appraisal import (
    LANGUAGES,
    AppraisalModel,
    AppraisalModelError,
    LexicalAppraiser,
    ModelAppraiser,
    ModelMeta,
    features,
    language_centres,
    lexical_moves,
    width,
)
from roleplay.signals import SignalKind, detect

BROAD = "ok i'll call the courier now"
"""A next_step phrase of the list ("I'll call") that is often no next step at all."""


def test_the_next_step_list_decides_beside_the_model_and_alone() -> None:
    # The ladder needs the list's plain next steps (see lexical_moves).
    assert SignalKind.NEXT_STEP in LexicalAppraiser().appraise(BROAD, "en").kinds
    every = lexical_moves(BROAD, "en", None)
    assert [m.kind for m in every] == [SignalKind.NEXT_STEP]
    assert BROAD[every[0].start:every[0].end] == every[0].quote


def test_the_classifier_reads_which_kinds_the_lists_heard() -> None:
    texts = ["you should have checked the date", "the van left the depot", BROAD]
    vectors = WordHashEmbeddings().embed(texts)
    langs: list[str | None] = ["en"] * 3
    x = features(vectors, langs, language_centres(vectors, ["en"] * 3), texts, ngram_buckets=8)
    dim = vectors.shape[1]
    assert x.shape == (3, width(dim, 8, True)) == (3, dim + len(LANGUAGES) + len(SignalKind) + 8)
    kinds = x[:, dim + len(LANGUAGES):dim + len(LANGUAGES) + len(SignalKind)]
    column = list(SignalKind).index
    assert kinds[0, column(SignalKind.BLAME)] == 1.0 and kinds[0].sum() == 1.0
    assert kinds[1].sum() == 0.0
    assert kinds[2, column(SignalKind.NEXT_STEP)] == 1.0
    without = features(vectors, langs, language_centres(vectors, ["en"] * 3), texts, 8,
                       lexicon=False)
    assert without.shape == (3, width(dim, 8, False))


def _old_model(columns: int) -> AppraisalModel:
    """A model that never reports a move of its own, `columns` wide."""
    kinds = [SignalKind.BLAME, SignalKind.NEXT_STEP]
    meta = ModelMeta(kinds=kinds, thresholds={k.value: 0.5 for k in kinds},
                     embedding_model=WordHashEmbeddings.model_id, dev_sha256="test",
                     dev_lines=0, trained_at=datetime(2026, 12, 1, tzinfo=UTC), l2=0.03)
    dim = WordHashEmbeddings().embed(["x"]).shape[1]
    return AppraisalModel(np.zeros((2, columns)), np.full(2, -10.0), np.zeros(columns),
                          np.ones(columns), np.zeros((len(LANGUAGES), dim)), meta)


def test_a_model_without_lexicon_columns_still_loads_and_keeps_every_list(
        tmp_path: Path) -> None:
    dim = WordHashEmbeddings().embed(["x"]).shape[1]
    old = _old_model(width(dim, 0, False))
    old.save(tmp_path)
    loaded = AppraisalModel.load(tmp_path)
    assert not loaded.lexicon_features
    # Trained when every list decided alone: they all still do for it, and for the new one.
    assert ModelAppraiser(WordHashEmbeddings(), loaded).appraise(BROAD, "en").kinds == {
        SignalKind.NEXT_STEP}
    new = _old_model(width(dim, 0, True))
    assert new.lexicon_features
    assert ModelAppraiser(WordHashEmbeddings(), new).appraise(BROAD, "en").kinds == {
        SignalKind.NEXT_STEP}


def test_weights_of_a_width_its_meta_does_not_describe_are_refused(tmp_path: Path) -> None:
    dim = WordHashEmbeddings().embed(["x"]).shape[1]
    _old_model(width(dim, 0, True) + 1).save(tmp_path)
    with pytest.raises(AppraisalModelError, match="weight columns.*roleplay appraise train"):
        AppraisalModel.load(tmp_path)


@pytest.mark.parametrize(("language", "line", "kind"), [
    ("en", "tbh that's kinda on you", "blame"),
    ("en", "meh, it's only a couple of hours", "dismissive"),
    ("fi", "no sun ois pitäny tarkistaa se päivämäärä", "blame"),
    ("fi", "rauhotu nyt vähän", "dismissive"),
    ("fi", "kasva aikuiseks", "hostile"),
    ("no", "hadde du lest e-posten, hadde du visst det", "blame"),
    ("no", "ikke stress, det er bare femti kroner", "dismissive"),
    ("no", "skjerp deg litt da", "hostile"),
    ("lv", "tev vajadzēja pārbaudīt datumu", "blame"),
    ("lv", "neņem galvā, tas nekas", "dismissive"),
    ("lv", "klau, pieaudz jau beidzot", "hostile"),
    ("hu", "meg kellett volna nézned a dátumot", "blame"),
    ("hu", "nyugi már, nem dől össze a világ", "dismissive"),
    ("hu", "ugyan már, szedd össze magad", "hostile"),
])
def test_the_lists_hear_harm_put_colloquially(language: str, line: str, kind: str) -> None:
    assert SignalKind(kind) in {s.kind for s in detect(line, language)}


@pytest.mark.parametrize(("language", "line"), [
    ("en", "you should've got an email from us with the code"),
    ("en", "you should have received a text with the tracking link"),
    ("lv", "tev vajadzēja saņemt kodu īsziņā"),
    ("fi", "sun pitäis saada tekstari ihan just"),
    ("no", "du skulle ha fått en sms nå"),
    ("lv", "tev vajadzētu saņemt īsziņu pēc minūtes"),
    ("hu", "nyugodtan hívj vissza, ha kell"),
])
def test_the_new_harm_phrases_leave_helpful_lines_alone(language: str, line: str) -> None:
    harmful = {SignalKind.BLAME, SignalKind.DISMISSIVE, SignalKind.HOSTILE}
    assert not harmful & {s.kind for s in detect(line, language)}
