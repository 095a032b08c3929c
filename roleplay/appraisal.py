"""One appraisal per trainee turn: which moves the line makes, how sure, and the words.

The appraisal is made once, right after the trainee's line is saved, and stored with the
turn; the mood ladder reads its moves (as `Signal`s) and so does everything after it. Two
layers:

- the phrase lists (`roleplay/lexicons/*.yaml`, `signals.detect`): fast and precise, each
  hit quoted exactly; confidence 1.0.
- a model layer for what the lists cannot hear ("god, what a nightmare, i'd be livid in your
  shoes"): the line's embedding from the embedded GGUF model (`roleplay.embedding`), which
  kinds the lists heard and its hashed n-grams (`roleplay.ngrams`), read by one logistic
  regression per kind, trained on `evals/moves/dev.jsonl` (`roleplay.harness.moves`), with a
  threshold per kind chosen by cross-validation; weights in `roleplay/appraisal_model/`.

    Appraiser (protocol): appraise(text, language, customer_name) -> Appraisal
      LexicalAppraiser: the phrase lists only
      ModelAppraiser: the phrase lists, plus the classifier for every kind they did not find
    appraiser_from_settings(settings): the best appraiser available, else the phrase lists
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from roleplay.config import Settings
from roleplay.embedding import MEAN, EmbeddingClient, Recipe
from roleplay.errors import BackendError, RoleplayError
from roleplay.ngrams import ngram_counts
from roleplay.signals import HARMFUL, HELPFUL, Signal, SignalKind, detect
from roleplay.text import sentence_spans

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "appraisal_model"
"""Where the trained classifier is shipped: `weights.npz` and `meta.json`."""

LANGUAGES: tuple[str, ...] = ("en", "fi", "lv", "hu", "no")
"""The languages the classifier is given as a one-hot feature, in this order."""

Source = Literal["lexicon", "model"]


class Move(BaseModel):
    """One move the trainee's line makes, with the evidence for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SignalKind
    """What the line does."""
    confidence: float = Field(ge=0.0, le=1.0)
    """1.0 for a listed phrase; the classifier's probability for a model move."""
    quote: str
    """The words that show it, `text[start:end]`: the phrase, or for a model move the sentence
    that scores highest for its kind (the whole line if it has one sentence)."""
    start: int
    """Offset of the quote in the line."""
    end: int
    """End offset (exclusive)."""
    source: Source
    """Which layer heard it."""

    def signal(self) -> Signal:
        """Return the move as the `Signal` the mood ladder reads."""
        return Signal(kind=self.kind, quote=self.quote, start=self.start, end=self.end)


class Appraisal(BaseModel):
    """Every move of one trainee line, as one appraiser heard them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    moves: list[Move]
    """In order of position; one move per kind."""
    language: str | None
    """The language the line was appraised in (the persona's)."""
    appraiser: str
    """Which appraiser made it, e.g. "lexicon" or "lexicon+model:<model date>"."""

    def signals(self) -> list[Signal]:
        """Return the moves as signals, for `mood.next_rung`."""
        return [move.signal() for move in self.moves]

    @property
    def kinds(self) -> set[SignalKind]:
        """The kinds of move present."""
        return {move.kind for move in self.moves}


class Appraiser(Protocol):
    """Decides which moves a trainee line makes."""

    name: str

    def appraise(self, text: str, language: str | None = None,
                 customer_name: str | None = None) -> Appraisal: ...


def direction(kinds: set[SignalKind]) -> int:
    """Return +1 for a helpful line, -1 for a harmful one, 0 for neither.

    A harmful move outweighs helpful ones, as on the mood ladder: the customer remembers the jab.
    """
    if kinds & HARMFUL:
        return -1
    return 1 if kinds & HELPFUL else 0


def lexical_moves(text: str, language: str | None, customer_name: str | None) -> list[Move]:
    """Return the moves the phrase lists find, one per kind (its first phrase), by position.

    Every list decides, beside the classifier too. next_step's list (precision 0.19-0.24 on
    dev in en, fi, lv, no) was once only a feature of the classifier: held-out next_step
    precision rose 0.34 -> 0.72, but the classifier missed plain next steps the list hears
    ("I'm flagging the refund as a priority right now", "hoidan korjauksen heti") and good
    handling stopped calming the two cursing personas in the turns their difficulty promises
    (`roleplay eval` calm_in_range_rate 1.0 -> 0.826). A false "no next step" keeps a
    well-handled customer angry."""
    moves: dict[SignalKind, Move] = {}
    for s in detect(text, language=language, customer_name=customer_name):
        # The first phrase of each kind is its evidence; the ladder counts kinds, not hits.
        moves.setdefault(s.kind, Move(kind=s.kind, confidence=1.0, quote=s.quote,
                                      start=s.start, end=s.end, source="lexicon"))
    return sorted(moves.values(), key=lambda m: m.start)


class LexicalAppraiser:
    """The phrase lists alone: what the project did before the model layer."""

    name = "lexicon"

    def appraise(self, text: str, language: str | None = None,
                 customer_name: str | None = None) -> Appraisal:
        """Return the moves the phrase lists find in `text`."""
        return Appraisal(moves=lexical_moves(text, language, customer_name),
                         language=language, appraiser=self.name)


# --- the classifier ----------------------------------------------------------------------

class ModelMeta(BaseModel):
    """What a trained classifier was trained on and how well it did (`meta.json`)."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[SignalKind]
    """The kinds it has a classifier for, in the order of the weight rows."""
    thresholds: dict[str, float]
    """Per kind: the probability from which the move is reported (chosen by CV on dev)."""
    direction_thresholds: dict[str, float] = Field(default_factory=dict)
    """"helpful"/"harmful": from this P(the line has a move of that direction), a line with no
    move of that direction gets the most probable kind of it (chosen by CV on dev)."""
    embedding_model: str
    """SHA-256 of the GGUF whose embeddings it was trained on; other embeddings are refused."""
    embedding_recipe: Recipe = MEAN
    """How the lines were embedded (pooling, prompt); a client of another recipe is refused.
    A meta.json from before recipes were recorded was trained on MEAN."""
    dev_sha256: str
    """SHA-256 of the dev.jsonl it was trained on."""
    dev_lines: int
    trained_at: datetime
    l2: float
    """The L2 penalty chosen by cross-validation."""
    ngram_buckets: int = 0
    """Columns of hashed n-gram counts (`roleplay.ngrams`) after the embedding; 0: none (a
    meta.json from before they were added)."""

    cv: dict[str, object] = Field(default_factory=dict)
    """Cross-validated scores on dev: per kind and per language precision/recall."""

    @classmethod
    def read(cls, directory: Path) -> ModelMeta:
        """Read `meta.json` in `directory`; OSError or ValueError if missing or invalid."""
        return cls.model_validate_json((directory / "meta.json").read_text("utf-8"))


DIRECTIONS: tuple[str, ...] = ("helpful", "harmful")
"""The two direction heads, after the kinds in the weight rows."""


def language_centres(vectors: np.ndarray, languages: list[str]) -> np.ndarray:
    """Return the mean embedding of each of LANGUAGES in `vectors` (zeros if absent)."""
    centres = np.zeros((len(LANGUAGES), vectors.shape[1]), dtype=np.float32)
    for i, lang in enumerate(LANGUAGES):
        rows = [j for j, other in enumerate(languages) if other == lang]
        if rows:
            centres[i] = vectors[rows].mean(axis=0)
    return centres


def lexicon_columns(texts: Sequence[str], languages: Sequence[str | None]) -> np.ndarray:
    """Return (texts, SignalKind) 1.0 where the phrase lists hear that kind in the text."""
    out = np.zeros((len(texts), len(SignalKind)), dtype=np.float32)
    for row, (text, lang) in enumerate(zip(texts, languages)):
        out[row, [list(SignalKind).index(s.kind) for s in detect(text, language=lang)]] = 1.0
    return out


def width(dim: int, ngram_buckets: int, lexicon: bool) -> int:
    """Return the number of columns `features` makes from embeddings of `dim`."""
    return dim + len(LANGUAGES) + (len(SignalKind) if lexicon else 0) + ngram_buckets


def features(vectors: np.ndarray, languages: list[str | None], centres: np.ndarray,
             texts: Sequence[str] = (), ngram_buckets: int = 0,
             lexicon: bool = True) -> np.ndarray:
    """Return the classifier's input: each embedding minus its language's centre,
    renormalised, a language one-hot, (with `lexicon`) which kinds the phrase lists hear in
    `texts`, then (with `ngram_buckets`) their hashed n-gram counts (`roleplay.ngrams`).

    Subtracting the centre takes out what says "this is Finnish" (dev CV macro F1 0.606
    against 0.579 without); the lists' columns: 0.605 -> 0.619 (evals/moves/README.md)."""
    out = vectors.astype(np.float32).copy()
    onehot = np.zeros((len(languages), len(LANGUAGES)), dtype=np.float32)
    for i, lang in enumerate(languages):
        if lang in LANGUAGES:
            out[i] -= centres[LANGUAGES.index(lang)]
            onehot[i, LANGUAGES.index(lang)] = 1.0
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
    if (ngram_buckets or lexicon) and len(texts) != len(vectors):
        raise ValueError(f"{len(vectors)} vectors but {len(texts)} texts for their features")
    parts = [out, onehot]
    if lexicon:
        parts.append(lexicon_columns(texts, languages))
    if ngram_buckets:
        parts.append(ngram_counts(texts, ngram_buckets))
    return np.hstack(parts)


def decide(kinds: list[SignalKind], probs: np.ndarray, found: np.ndarray,
           thresholds: dict[str, float], direction_thresholds: dict[str, float]) -> np.ndarray:
    """Return which kinds each line makes, (rows, kinds) bool.

    `probs`: `AppraisalModel.probabilities()`, the kinds then the direction heads; `found`:
    (rows, kinds) what the phrase lists already heard. A kind is made when its probability
    reaches its threshold; a direction head that is sure adds the most probable kind of its
    direction to a line that has none.
    """
    k = len(kinds)
    made = found | (probs[:, :k] >= np.array([thresholds[kind.value] for kind in kinds]))
    for head, name in enumerate(DIRECTIONS):
        if name not in direction_thresholds or probs.shape[1] <= k + head:
            continue
        members = np.array([(kind in HELPFUL) == (name == "helpful") for kind in kinds])
        sure = (probs[:, k + head] >= direction_thresholds[name]) & ~(made & members).any(axis=1)
        best = np.where(members, probs[:, :k], -1.0).argmax(axis=1)
        made[np.flatnonzero(sure), best[sure]] = True
    return made


class AppraisalModel:
    """One logistic regression per kind over `features`, and two more for "has some helpful
    move" and "has some harmful move": these learn from every line of their direction
    (hundreds, not the 20 of one kind), so they are surer of *whether* a line helps or hurts
    than the kind heads are of *which* move it is."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, mean: np.ndarray,
                 scale: np.ndarray, centres: np.ndarray, meta: ModelMeta):
        self.weights = weights.astype(np.float32)  # (kinds + direction heads, features)
        self.bias = bias.astype(np.float32)
        self.mean = mean.astype(np.float32)
        self.scale = scale.astype(np.float32)
        self.centres = centres.astype(np.float32)  # (LANGUAGES, embedding dim)
        self.meta = meta

    def features(self, vectors: np.ndarray, languages: list[str | None],
                 texts: Sequence[str]) -> np.ndarray:
        """Return the classifier's input for the embeddings of `texts` in `languages`."""
        return features(vectors, languages, self.centres, texts, self.meta.ngram_buckets,
                        self.lexicon_features)

    @property
    def lexicon_features(self) -> bool:
        """Whether it reads the lists' columns (not before 2026-12-01 16:00): by its width."""
        dim = self.centres.shape[1]
        return bool(self.weights.shape[1] == width(dim, self.meta.ngram_buckets, True))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Return P(kind) for each row of `features`, shape (rows, kinds)."""
        z = ((features - self.mean) / self.scale) @ self.weights.T + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def decide(self, probs: np.ndarray, found: np.ndarray) -> np.ndarray:
        """Return which kinds each line makes, with this model's thresholds (see `decide`)."""
        return decide(self.meta.kinds, probs, found, self.meta.thresholds,
                      self.meta.direction_thresholds)

    def save(self, directory: Path) -> None:
        """Write `weights.npz` (float16) and `meta.json` to `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        # Only the big matrix is halved: the standardisation divides by small deviations.
        np.savez_compressed(directory / "weights.npz", weights=self.weights.astype(np.float16),
                            bias=self.bias, mean=self.mean, scale=self.scale,
                            centres=self.centres)
        (directory / "meta.json").write_text(self.meta.model_dump_json(indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> AppraisalModel:
        """Read a saved classifier; AppraisalModelError if it is missing or unreadable."""
        try:
            meta = ModelMeta.read(directory)
            with np.load(directory / "weights.npz") as data:
                arrays = {k: data[k].astype(np.float32)
                          for k in ("weights", "bias", "mean", "scale", "centres")}
        except (OSError, ValueError, KeyError) as err:
            raise AppraisalModelError(f"cannot read the appraisal model in {directory}: {err}; "
                                      "run `roleplay appraise train`") from err
        wants = {width(arrays["centres"].shape[1], meta.ngram_buckets, lexicon)
                 for lexicon in (False, True)}
        if arrays["weights"].shape[1] not in wants:
            raise AppraisalModelError(f"the appraisal model in {directory} has "
                                      f"{arrays['weights'].shape[1]} weight columns, its "
                                      f"meta.json describes {sorted(wants)}; run `roleplay "
                                      "appraise train`")
        return cls(meta=meta, **arrays)


def shipped_recipe(directory: Path = MODEL_DIR) -> Recipe:
    """Return the embedding recipe the classifier in `directory` records (MEAN if it has none
    to read): what `roleplay model-server` must serve for it."""
    try:
        return ModelMeta.read(directory).embedding_recipe
    except (OSError, ValueError):
        return MEAN


class AppraisalModelError(RoleplayError):
    """The trained appraisal model is missing, unreadable or made for other embeddings."""


QUOTE_SENTENCES = 4
"""With `quote_sentences`, a line of 2 to this many sentences has each embedded too (in the
same request as the line), so a model move quotes its sentence; a longer line is quoted whole.
Off by default: the server embeds the inputs of a request one after another, so a
two-sentence line costs about 2.6 times as much (measured on the loaded 2-core machine,
median of 8 dev lines: 9.8 s against 3.7 s wall), which breaks the 1.0 s budget per turn."""


def quotable_sentences(text: str) -> list[tuple[int, int]]:
    """Return the stripped (start, end) of each sentence of `text` with a letter or digit."""
    spans = []
    for start, end in sentence_spans(text):
        piece = text[start:end]
        if any(ch.isalnum() for ch in piece):
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
    return spans


class ModelAppraiser:
    """The phrase lists first, then the classifier for every kind they did not find.

    Whether a move is made is decided on the whole line's embedding (that is what the
    classifier was trained and measured on); with `quote_sentences` (see QUOTE_SENTENCES),
    which sentence to quote for it, by the same kind's classifier on each sentence's embedding.
    """

    def __init__(self, client: EmbeddingClient, model: AppraisalModel,
                 quote_sentences: bool = False):
        if client.model_id != model.meta.embedding_model:
            raise AppraisalModelError(
                f"the appraisal model was trained on embeddings of {model.meta.embedding_model[:12]}"
                f"…, the embedding server serves {client.model_id[:12]}…; retrain it with "
                "`roleplay appraise train`")
        if client.recipe != model.meta.embedding_recipe:
            raise AppraisalModelError(
                f"the appraisal model was trained on {model.meta.embedding_recipe.key} "
                f"embeddings, the client makes {client.recipe.key} ones; retrain it with "
                "`roleplay appraise train`")
        self.client = client
        self.model = model
        self.quote_sentences = quote_sentences
        self.name = f"lexicon+model:{model.meta.trained_at:%Y-%m-%d}"

    def probabilities(self, texts: list[str], languages: list[str | None]) -> np.ndarray:
        """Return the classifier's P(kind) per text, columns in `model.meta.kinds` order."""
        vectors = self.client.embed(texts)
        return self.model.probabilities(self.model.features(vectors, languages, texts))

    def appraise(self, text: str, language: str | None = None,
                 customer_name: str | None = None) -> Appraisal:
        """Return the lexicon's moves plus the classifier's moves above their thresholds."""
        moves = lexical_moves(text, language, customer_name)
        found = {m.kind for m in moves}
        stripped = text.strip()
        start = text.find(stripped) if stripped else 0
        spans = quotable_sentences(text) if self.quote_sentences else []
        if not 2 <= len(spans) <= QUOTE_SENTENCES:
            spans = [(start, start + len(stripped))]
        pieces = [text] + ([text[a:b] for a, b in spans] if len(spans) > 1 else [])
        try:
            every = self.probabilities(pieces, [language] * len(pieces))
        except BackendError as err:
            # The call goes on with what the phrase lists heard rather than failing the turn.
            _fall_back(f"the embedding server failed ({err})")
            return Appraisal(moves=moves, language=language, appraiser=LexicalAppraiser.name)
        probs, by_sentence = every[0], every[1:] if len(every) > 1 else every[:1]
        kinds = self.model.meta.kinds
        made = self.model.decide(probs[None, :], np.array([[k in found for k in kinds]]))[0]
        for column, (kind, p, make) in enumerate(zip(kinds, probs, made)):
            if kind in found or not make:
                continue
            a, b = spans[int(by_sentence[:, column].argmax())]
            moves.append(Move(kind=kind, confidence=round(float(p), 3), quote=text[a:b],
                              start=a, end=b, source="model"))
        moves.sort(key=lambda m: m.start)
        return Appraisal(moves=moves, language=language, appraiser=self.name)


def time_appraisal(appraiser: Appraiser, text: str, language: str | None
                   ) -> tuple[float, float]:
    """Return the (wall, CPU) seconds of one appraisal (CPU: every thread of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    appraiser.appraise(text, language)
    return time.perf_counter() - wall, time.process_time() - cpu


_fallback_said: set[str] = set()


def _fall_back(why: str) -> LexicalAppraiser:
    if why not in _fallback_said:  # said once per process, not on every call
        _fallback_said.add(why)
        log.warning("appraisal uses the phrase lists only: %s", why)
    return LexicalAppraiser()


def appraiser_from_settings(settings: Settings) -> Appraiser:
    """Return the model appraiser on the packaged model's embeddings, else the phrase lists
    (logged once). The classifier is trained on the embeddings of the packaged GGUF: they come from
    `settings.embedding_url` if set (checked to serve that model), else from an in-process
    server beside the embedded model; a remote backend alone gets the phrase lists.
    """
    if settings.embedding_url is None and not settings.embedded:
        return _fall_back("a remote backend is configured and the appraisal model is trained "
                          "on the embedded model's embeddings; for the model layer set "
                          "ROLEPLAY_EMBEDDING_URL to the embedding server `roleplay "
                          "model-server` prints")
    try:
        model = AppraisalModel.load()
        from roleplay.embedding import embedding_client, remote_embedding_client

        # The client embeds by the recipe the model records; ModelAppraiser checks the model.
        recipe = model.meta.embedding_recipe
        if settings.embedding_url is not None:
            return ModelAppraiser(remote_embedding_client(settings, recipe), model)
        return ModelAppraiser(embedding_client(settings, recipe), model)
    except RoleplayError as err:
        where = (f"ROLEPLAY_EMBEDDING_URL={settings.embedding_url}: "
                 if settings.embedding_url else "")
        return _fall_back(where + str(err))
