"""Hashed character and word n-grams of a trainee line: the appraisal's cheap lexical features.

The embedding of a line says what it is about; the words say how it is put. The classifier of
`roleplay.appraisal` reads both: these counts sit beside the embedding in its input. They cost
microseconds (no model call), need no vocabulary file (each n-gram is hashed into one of
`buckets` columns by CRC-32, which, unlike `hash()`, is the same in every process), and work
in any language and with typos ("shouldnt of" still shares most of its character n-grams with
"shouldn't have").

    ngram_counts(texts, buckets) -> (len(texts), buckets) float32, each row of unit length
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

CHAR_SIZES = range(2, 6)
"""Character n-gram lengths counted (within and across word boundaries)."""

_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")


def _pieces(text: str) -> list[str]:
    if not text.strip():
        return []
    squeezed = " " + " ".join(text.lower().split()) + " "
    pieces = [squeezed[i:i + n] for n in CHAR_SIZES for i in range(len(squeezed) - n + 1)]
    words = [_PUNCTUATION.sub("", word) for word in squeezed.split()]
    pieces += [f"w:{word}" for word in words]
    pieces += [f"b:{a} {b}" for a, b in pairwise(words)]
    return pieces


def ngram_counts(texts: Sequence[str], buckets: int) -> np.ndarray:
    """Return the hashed n-gram counts of each text, square-rooted (a repeated n-gram counts
    less than a new one) and scaled to unit length; an empty text gives a row of zeros."""
    out = np.zeros((len(texts), buckets), dtype=np.float32)
    for row, text in enumerate(texts):
        for piece in _pieces(text):
            out[row, zlib.crc32(piece.encode("utf-8")) % buckets] += 1.0
    out = np.sqrt(out)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
