"""The appraisal's hashed n-gram features: stable across processes, robust to typos, and
heard by the classifier when the embedding carries nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from test_appraisal import BLAME_LINE, EMPATHY_LINE, _lines

from roleplay.appraisal import AppraisalModel, ModelAppraiser
from roleplay.embedding import MEAN
from roleplay.harness.moves import train
from roleplay.ngrams import ngram_counts
from roleplay.signals import SignalKind


class SameVectorEmbeddings:
    """Embeddings that say nothing: every line gets the same vector."""

    model_id = "same-vector"
    recipe = MEAN

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


def test_rows_have_unit_length_and_an_empty_line_is_zeros() -> None:
    rows = ngram_counts(["ok", "you should have checked", ""], 256)
    assert rows.shape == (3, 256) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows[:2], axis=1), 1.0) and not rows[2].any()


def test_a_typo_stays_closer_to_its_word_than_another_line() -> None:
    typo, right, other = ngram_counts(["you shouldnt of done that", "you shouldn't have done that",
                                       "the van left the depot"], 4096)
    assert float(typo @ right) > 0.5 > float(typo @ other)


def test_the_hashing_is_the_same_in_another_process() -> None:
    # Python's own hash() of a str changes per process; shipped weights need stable columns.
    code = ("from roleplay.ngrams import ngram_counts; import sys; "
            "sys.stdout.write(ngram_counts(['sorry, my bad'], 512).tobytes().hex())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert other == ngram_counts(["sorry, my bad"], 512).tobytes().hex()


def test_the_classifier_hears_the_words_when_the_embedding_says_nothing(tmp_path: Path) -> None:
    model, _ = train(_lines(), SameVectorEmbeddings(), dev_sha256="test", ngram_buckets=512)
    assert model.meta.ngram_buckets == 512
    model.save(tmp_path)
    loaded = AppraisalModel.load(tmp_path)
    appraiser = ModelAppraiser(SameVectorEmbeddings(), loaded)
    blame = loaded.meta.kinds.index(SignalKind.BLAME)
    empathy = loaded.meta.kinds.index(SignalKind.EMPATHY)
    p_blame, p_empathy = appraiser.probabilities([BLAME_LINE, EMPATHY_LINE], ["en", "en"])
    assert p_blame[blame] > 0.5 > p_empathy[blame]
    assert p_empathy[empathy] > 0.5 > p_blame[empathy]
    without, _ = train(_lines(), SameVectorEmbeddings(), dev_sha256="test", ngram_buckets=0)
    flat = ModelAppraiser(SameVectorEmbeddings(), without).probabilities(
        [BLAME_LINE, EMPATHY_LINE], ["en", "en"])
    assert np.allclose(flat[0], flat[1])
