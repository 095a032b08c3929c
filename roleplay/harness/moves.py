"""Training and measuring the appraisal's classifier on labelled trainee lines.

`evals/moves/dev.jsonl` is the only data it is trained on; hyper-parameters and the per-kind
thresholds are chosen by cross-validation inside it. `evals/moves/heldout.jsonl` (written blind
by someone else) is only ever measured, never tuned on.

    load_lines(path) -> [LabelledLine]
    train(lines, client) -> (AppraisalModel, cv scores)   # `roleplay appraise train`
    measure(lines, appraiser) -> MoveScores               # `roleplay appraise eval`
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from roleplay.appraisal import (
    AppraisalModel,
    Appraiser,
    ModelMeta,
    decide,
    direction,
    features,
    language_centres,
    lexical_moves,
)
from roleplay.config import Settings
from roleplay.embedding import MEAN, EmbeddingClient, Recipe
from roleplay.errors import ConfigError
from roleplay.harness.metrics import PrecisionRecall, precision_recall
from roleplay.signals import HELPFUL, SignalKind

MIN_POSITIVES = 4
"""A kind with fewer labelled lines in dev gets no classifier (only its phrase list)."""

L2_GRID = (3e-2,)
"""L2 penalties tried by cross-validation. On the 2,108-line dev set 1e-2, 3e-2 and 1e-1 gave
macro F1 0.579, 0.586 and 0.580 (embeddings alone): one value, since every one tried costs
five fits of the whole set (minutes on the shared 2-core machine)."""

NGRAM_BUCKETS = 4096
"""Hashed n-gram columns beside the embedding (`roleplay.ngrams`). 5-fold CV on the 2,108-line
dev set, l2 3e-2: embeddings alone macro F1 0.586, direction 0.737; with 4,096 n-gram
columns at weight 10 / 30 / 60: 0.589 / 0.604 / 0.595, direction 0.750 / 0.771 / 0.761;
8,192 columns at 30: 0.607, 0.770 (no better, twice the weights)."""

NGRAM_WEIGHT = 30.0
"""What the unit-length n-gram row is multiplied by (the embedding's standardised columns
have unit variance each, so its rows are about 39 long)."""

THRESHOLD_GRID = tuple(round(x, 2) for x in np.arange(0.2, 0.96, 0.05))
FOLDS = 5
SAVE_EVERY = 100
STEPS = 300


class LabelledLine(BaseModel):
    """One trainee line of evals/moves/*.jsonl and the moves a person labelled in it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    language: str
    text: str
    moves: list[SignalKind]
    context: str | None = None
    split: str | None = None


def load_lines(path: Path) -> list[LabelledLine]:
    """Read a moves JSONL file; ConfigError naming the line of any broken record."""
    lines = []
    try:
        raw = path.read_text("utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err}") from err
    for number, row in enumerate(raw, 1):
        if not row.strip():
            continue
        try:
            lines.append(LabelledLine.model_validate_json(row))
        except ValidationError as err:
            raise ConfigError(f"{path}, line {number}: {err.errors()[0]['msg']} at "
                              f"{err.errors()[0]['loc']}; fix the record") from None
    return lines


def file_hash(path: Path) -> str:
    """Return the SHA-256 of a data file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CachedEmbeddings:
    """An EmbeddingClient that keeps every vector it computed in an .npz file.

    Retraining after the dev set grows then embeds only the new lines (about 0.3 s each on
    the embedded model). Keyed by the embedding model, the recipe and the text.
    """

    def __init__(self, inner: EmbeddingClient, path: Path):
        self.inner = inner
        self.model_id = inner.model_id
        self.recipe = inner.recipe
        self.path = path
        self._cache: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as data:
                self._cache = {k: data[k] for k in data.files}

    def _key(self, text: str) -> str:
        # MEAN keeps the key it had before recipes existed, so its cached vectors stay valid.
        recipe = "" if self.recipe == MEAN else f"{self.recipe.model_dump_json()}\n"
        return hashlib.sha256(f"{self.model_id}\n{recipe}{text}".encode()).hexdigest()[:32]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return the vectors of `texts`, computing only the ones not cached."""
        missing = [t for t in dict.fromkeys(texts) if self._key(t) not in self._cache]
        # Saved every SAVE_EVERY lines: embedding a whole dev set takes minutes, and an
        # interrupted run should not have to start again.
        for i in range(0, len(missing), SAVE_EVERY):
            chunk = missing[i:i + SAVE_EVERY]
            for text, vector in zip(chunk, self.inner.embed(chunk)):
                self._cache[self._key(text)] = vector.astype(np.float32)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self._cache)  # type: ignore[arg-type]
        return np.stack([self._cache[self._key(t)] for t in texts])


def cached_embeddings(settings: Settings, recipe: Recipe = MEAN) -> CachedEmbeddings:
    """Return the embedded model's embeddings by `recipe` (its server started), cached in the
    cache dir."""
    from roleplay.embedding import embedding_client

    return CachedEmbeddings(embedding_client(settings, recipe),
                            settings.cache_dir / "appraisal-embeddings.npz")


# --- logistic regression -----------------------------------------------------------------

def _fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Fit one logistic regression per column of `y` on standardised `x`; return (W, b).

    Full-batch Adam on the weighted log-loss: positives are rare (20 of 1000 lines per kind),
    so each kind's positives weigh as much as its negatives, capped at 10 times.
    """
    # float32: half the memory traffic of float64 and the same CV scores to 3 decimals.
    x, y = x.astype(np.float32), y.astype(np.float32)
    n, d = x.shape
    k = y.shape[1]
    pos = y.sum(axis=0)
    weight_pos = np.minimum((n - pos) / np.maximum(pos, 1), 10.0)
    sample_w = (np.where(y > 0, weight_pos, 1.0) / n).astype(np.float32)
    w = np.zeros((k, d), dtype=np.float32)
    b = np.zeros(k, dtype=np.float32)
    m_w, v_w, m_b, v_b = (np.zeros_like(w), np.zeros_like(w), np.zeros_like(b),
                          np.zeros_like(b))
    lr, beta1, beta2 = 0.02, 0.9, 0.999
    for step in range(1, STEPS + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w.T + b, -30, 30)))
        g = (p - y) * sample_w  # (n, k)
        grad_w = g.T @ x + 2 * l2 * w
        grad_b = g.sum(axis=0)
        for param, grad, m, v in ((w, grad_w, m_w, v_w), (b, grad_b, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= (lr * (m / (1 - beta1 ** step))
                      / (np.sqrt(v / (1 - beta2 ** step)) + 1e-8)).astype(np.float32)
    return w, b


def _standardise(x: np.ndarray, ngrams: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (mean, scale) of the columns: the embedding's are standardised; the last
    `ngrams` (n-gram counts, mostly zeros) are only multiplied by NGRAM_WEIGHT, since dividing
    a rare n-gram by its tiny deviation would make it outweigh the whole embedding."""
    dense = x.shape[1] - ngrams
    mean = np.concatenate([x[:, :dense].mean(axis=0), np.zeros(ngrams)])
    scale = np.concatenate([x[:, :dense].std(axis=0) + 1e-6,
                            np.full(ngrams, 1.0 / NGRAM_WEIGHT)])
    return mean, scale


def sibling_groups(lines: Sequence[LabelledLine]) -> list[str]:
    """Return a group name per line: translations of one line share it.

    The fi, no, lv and hu lines of dev were written as one Finnish skeleton carried into the
    other three, under the same `<kind>-<n>` (`fi-blame-3` / `no-blame-3` / `lv-blame-3` /
    `hu-blame-3` say the same thing), so those four share a group; an English line is its own.
    """
    return [line.id if line.language == "en" else line.id.split("-", 1)[-1] for line in lines]


def _folds(groups: Sequence[str], seed: int = 0) -> list[np.ndarray]:
    """Return FOLDS index arrays; the lines of a group always fall in the same fold.

    With lines assigned one by one, a test line's three translations were in the training
    folds, and dev CV ranked the short-eol recipe 0.03 above mean in direction where the
    held-out set put it 0.01 below (evals/moves/README.md).
    """
    names = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = {names[j]: i % FOLDS for i, j in enumerate(order)}
    folds = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(folds == i) for i in range(FOLDS)]


def _oof(x: np.ndarray, y: np.ndarray, l2: float, ngrams: int, groups: Sequence[str]
         ) -> np.ndarray:
    """Return out-of-fold probabilities: each line predicted by a model that saw neither it
    nor its translations."""
    probs = np.zeros_like(y, dtype=np.float32)
    for test in _folds(groups):
        train = np.setdiff1d(np.arange(len(x)), test)
        mean, scale = _standardise(x[train], ngrams)
        w, b = _fit((x[train] - mean) / scale, y[train], l2)
        z = ((x[test] - mean) / scale) @ w.T + b
        probs[test] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    return probs


def _f1(predicted: np.ndarray, labelled: np.ndarray) -> float:
    tp = float((predicted & labelled).sum())
    denominator = float(predicted.sum() + labelled.sum())
    return 2 * tp / denominator if denominator else 0.0


def _thresholds(probs: np.ndarray, y: np.ndarray, lexical: np.ndarray) -> list[float]:
    """Per kind: the threshold at which lexicon-or-model has the best F1 out of fold."""
    best = []
    for j in range(y.shape[1]):
        scores = [(_f1(lexical[:, j] | (probs[:, j] >= t), y[:, j] > 0), t)
                  for t in THRESHOLD_GRID]
        # Ties go to the higher threshold: a false move moves the customer for no reason.
        best.append(max(scores, key=lambda s: (round(s[0], 6), s[1]))[1])
    return best


def _dev_directions(y: np.ndarray, kinds: list[SignalKind]) -> np.ndarray:
    helpful = np.array([k in HELPFUL for k in kinds])
    return np.stack([y[:, helpful].any(axis=1), y[:, ~helpful].any(axis=1)], axis=1)


def _cv_objective(kinds: list[SignalKind], probs: np.ndarray, y: np.ndarray,
                  lexical: np.ndarray, ts: dict[str, float], dts: dict[str, float]
                  ) -> tuple[float, float]:
    """Return (macro F1 over kinds, direction accuracy) of decide() out of fold."""
    made = decide(kinds, probs, lexical, ts, dts)
    macro = float(np.mean([_f1(made[:, j], y[:, j] > 0) for j in range(len(kinds))]))
    labelled = [direction({k for k, on in zip(kinds, row) if on}) for row in y > 0]
    guessed = [direction({k for k, on in zip(kinds, row) if on}) for row in made]
    pairs = [(a, b) for a, b in zip(labelled, guessed) if a != 0]
    return macro, sum(a == b for a, b in pairs) / max(len(pairs), 1)


def _direction_thresholds(kinds: list[SignalKind], probs: np.ndarray, y: np.ndarray,
                          lexical: np.ndarray, ts: dict[str, float]) -> dict[str, float]:
    """The direction thresholds with the best macro F1 + direction accuracy out of fold."""
    grid = [1.01] + [t for t in THRESHOLD_GRID if t >= 0.5]  # 1.01: the head never adds
    scored = []
    for helpful in grid:
        for harmful in grid:
            dts = {"helpful": helpful, "harmful": harmful}
            macro, accuracy = _cv_objective(kinds, probs, y, lexical, ts, dts)
            scored.append((round(macro + accuracy, 6), helpful + harmful, dts))
    # Ties go to higher thresholds: the head adds a move only when it is surer.
    return max(scored, key=lambda s: (s[0], s[1]))[2]


def train(lines: list[LabelledLine], client: EmbeddingClient, dev_sha256: str,
          ngram_buckets: int = NGRAM_BUCKETS, l2_grid: Sequence[float] = L2_GRID
          ) -> tuple[AppraisalModel, list[str]]:
    """Train the classifier on `lines` (with `ngram_buckets` n-gram columns, 0 for none,
    and the L2 penalty of `l2_grid` that cross-validates best); return it and a log of the
    choices made."""
    kinds = [k for k in SignalKind if sum(k in line.moves for line in lines) >= MIN_POSITIVES]
    if not kinds:
        raise ConfigError(f"no move kind has {MIN_POSITIVES} labelled lines; nothing to train")
    vectors = client.embed([line.text for line in lines])
    languages = [line.language for line in lines]
    centres = language_centres(vectors, languages)
    texts = [line.text for line in lines]
    x = features(vectors, list(languages), centres, texts, ngram_buckets).astype(np.float32)
    y = np.array([[k in line.moves for k in kinds] for line in lines], dtype=np.float32)
    # The kinds' columns, then the two direction heads' (DIRECTIONS order).
    y_all = np.hstack([y, _dev_directions(y, kinds).astype(np.float32)])
    lexical = np.array([[k in {m.kind for m in lexical_moves(line.text, line.language, None)}
                         for k in kinds] for line in lines])
    notes = []
    groups = sibling_groups(lines)
    best: tuple[float, float, np.ndarray] | None = None
    for l2 in l2_grid:
        probs = _oof(x, y_all, l2, ngram_buckets, groups)
        # Macro F1 at each kind's best threshold; the same choice is made for the final model.
        ts = _thresholds(probs[:, :len(kinds)], y, lexical)
        macro = float(np.mean([_f1(lexical[:, j] | (probs[:, j] >= t), y[:, j] > 0)
                               for j, t in enumerate(ts)]))
        notes.append(f"l2={l2:g}: cross-validated macro F1 {macro:.3f}")
        if best is None or macro > best[0]:
            best = (macro, l2, probs)
    assert best is not None
    _, l2, probs = best
    thresholds = {k.value: t for k, t in zip(kinds, _thresholds(probs[:, :len(kinds)], y,
                                                                   lexical))}
    direction_thresholds = _direction_thresholds(kinds, probs, y, lexical, thresholds)
    for name, dts in (("kind heads only", {}), ("with direction heads", direction_thresholds)):
        macro, accuracy = _cv_objective(kinds, probs, y, lexical, thresholds, dts)
        notes.append(f"{name}: CV macro F1 {macro:.3f}, direction {accuracy:.3f} {dts or ''}")
    mean, scale = _standardise(x, ngram_buckets)
    w, b = _fit((x - mean) / scale, y_all, l2)
    made = decide(kinds, probs, lexical, thresholds, direction_thresholds)
    predicted = [{k for k, on in zip(kinds, row) if on}
                 | {m.kind for m in lexical_moves(line.text, line.language, None)}
                 for row, line in zip(made, lines)]
    cv = scores(lines, predicted).model_dump(mode="json")
    meta = ModelMeta(kinds=kinds, thresholds=thresholds,
                     direction_thresholds=direction_thresholds,
                     embedding_model=client.model_id, embedding_recipe=client.recipe,
                     dev_sha256=dev_sha256,
                     dev_lines=len(lines), trained_at=datetime.now(UTC), l2=l2,
                     ngram_buckets=ngram_buckets, cv=cv)
    notes.append(f"chose l2={l2:g}; {len(kinds)} kinds with a classifier")
    return AppraisalModel(w, b, mean, scale, centres, meta), notes


# --- measuring ---------------------------------------------------------------------------

class KindScore(BaseModel):
    """Precision and recall of one kind (in one language, or all)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    language: str
    support: int
    predicted: int
    precision: float | None
    recall: float | None


class MoveScores(BaseModel):
    """How well predicted moves match the labels: per kind, per language, and the direction."""

    model_config = ConfigDict(extra="forbid")

    lines: int
    kinds: list[KindScore]
    """Per kind over all languages (language "all"), then per kind and language."""
    direction: dict[str, float | None]
    """Per language (and "all"): share of lines labelled helpful or harmful whose predicted
    direction is the same (a line with no predicted move counts as wrong)."""
    direction_lines: dict[str, int]


def _kind_score(kind: str, language: str, pr: PrecisionRecall) -> KindScore:
    return KindScore(kind=kind, language=language, support=pr.support,
                     predicted=pr.tp + pr.fp, precision=pr.precision, recall=pr.recall)


def scores(lines: list[LabelledLine], predicted: list[set[SignalKind]]) -> MoveScores:
    """Score predicted move sets against the labelled ones."""
    languages = sorted({line.language for line in lines})
    groups = [("all", list(range(len(lines))))] + [
        (lang, [i for i, line in enumerate(lines) if line.language == lang]) for lang in languages]
    kinds: list[KindScore] = []
    dir_rates: dict[str, float | None] = {}
    dir_lines: dict[str, int] = {}
    for name, idx in groups:
        for kind in SignalKind:
            labelled = [kind in lines[i].moves for i in idx]
            guessed = [kind in predicted[i] for i in idx]
            if any(labelled) or any(guessed):
                kinds.append(_kind_score(kind.value, name,
                                         precision_recall(guessed, labelled)))
        pairs = [(direction(set(lines[i].moves)), direction(predicted[i])) for i in idx]
        pairs = [(want, got) for want, got in pairs if want != 0]
        dir_lines[name] = len(pairs)
        dir_rates[name] = (sum(1 for want, got in pairs if want == got) / len(pairs)
                           if pairs else None)
    return MoveScores(lines=len(lines), kinds=kinds, direction=dir_rates,
                      direction_lines=dir_lines)


def measure(lines: list[LabelledLine], appraiser: Appraiser) -> MoveScores:
    """Appraise every line with `appraiser` and score the moves it found."""
    predicted = [appraiser.appraise(line.text, line.language).kinds for line in lines]
    return scores(lines, predicted)


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def render(result: MoveScores, min_support: int = 1) -> str:
    """Return the scores as plain-text tables: per kind, per kind x language, direction."""
    out = [f"{result.lines} lines", "", "direction (helpful vs harmful):"]
    for lang, rate in result.direction.items():
        out.append(f"  {lang:<4} {_pct(rate)}  ({result.direction_lines[lang]} lines)")
    out += ["", f"{'kind':<16}{'lang':<5}{'n':>4}{'pred':>5}  prec  recall"]
    for s in sorted(result.kinds, key=lambda s: (s.kind, s.language != "all", s.language)):
        if s.support >= min_support or s.language == "all":
            out.append(f"{s.kind:<16}{s.language:<5}{s.support:>4}{s.predicted:>5}  "
                       f"{_pct(s.precision)} {_pct(s.recall)}")
    return "\n".join(out)


def scores_json(result: MoveScores) -> str:
    """Return the scores as JSON."""
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=1)
