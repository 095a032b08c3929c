"""ROLEPLAY_EMBEDDING_URL on the real embedding server `roleplay model-server` starts: an app
pointed at a remote backend still gets the classifier, on the packaged model's embeddings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from roleplay.appraisal import ModelAppraiser, appraiser_from_settings, shipped_recipe
from roleplay.config import Settings, get_settings
from roleplay.embedding import EmbeddingServer
from roleplay.signals import SignalKind, detect

pytestmark = pytest.mark.integration

# Not in evals/moves/dev.jsonl and heard by no phrase list (checked below): the model layer's.
EMPATHY = "man, being stuck all morning with the whole team idle, i'd be climbing the walls too"


@pytest.fixture(scope="module")
def served() -> Iterator[EmbeddingServer]:
    settings = get_settings()
    if not settings.embedded:
        pytest.skip("a remote backend is configured; this test serves the packaged model")
    # What `roleplay model-server` starts beside the model (there on --port + 1).
    server = EmbeddingServer(settings, shipped_recipe().pooling,
                             what="the model server's embedding server")
    yield server
    server.stop()


def test_an_app_on_a_remote_backend_appraises_through_the_embedding_url(
        served: EmbeddingServer) -> None:
    settings = Settings(base_url="http://127.0.0.1:9/v1", embedding_url=served.base_url)
    appraiser = appraiser_from_settings(settings)
    assert isinstance(appraiser, ModelAppraiser), "the server's model id was not accepted"
    assert detect(EMPATHY, "en") == []
    moves = appraiser.appraise(EMPATHY, "en").moves
    assert any(m.kind == SignalKind.EMPATHY and m.source == "model" for m in moves)
