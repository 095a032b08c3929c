"""ROLEPLAY_EMBEDDING_URL: the appraisal's classifier on a shared embedding server (the one
`roleplay model-server` starts), checked to serve the model it was trained on."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from roleplay import cli
from roleplay.appraisal import (
    AppraisalModel,
    LexicalAppraiser,
    ModelAppraiser,
    appraiser_from_settings,
)
from roleplay.config import Settings

SHIPPED = AppraisalModel.load()
DIM = SHIPPED.centres.shape[1]


class FakeEmbeddings:
    """A loopback OpenAI-style embeddings server that names its model `model_id`."""

    def __init__(self, model_id: str):
        self.model_id = model_id
        self.embedded: list[str] = []
        self.auth: list[str | None] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.auth.append(self.headers.get("Authorization"))
                self._json({"object": "list", "data": [{"id": fake.model_id}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.embedded.extend(body["input"])
                rng = np.random.default_rng(len(fake.embedded))
                self._json({"data": [{"index": i, "embedding": rng.normal(size=DIM).tolist()}
                                     for i in range(len(body["input"]))]})

            def _json(self, payload: object) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def serving() -> Iterator[FakeEmbeddings]:
    fake = FakeEmbeddings(SHIPPED.meta.embedding_model)
    yield fake
    fake.stop()


def test_the_classifier_embeds_through_the_url_beside_a_remote_backend(
        serving: FakeEmbeddings) -> None:
    settings = Settings(base_url="http://127.0.0.1:9/v1", embedding_url=serving.url)
    appraiser = appraiser_from_settings(settings)
    assert isinstance(appraiser, ModelAppraiser)
    appraisal = appraiser.appraise("the parcel left the depot on tuesday", "en")
    assert serving.embedded == ["the parcel left the depot on tuesday"]
    assert appraisal.appraiser.startswith("lexicon+model")


def test_the_key_is_sent_to_the_embedding_server(serving: FakeEmbeddings) -> None:
    from pydantic import SecretStr

    appraiser_from_settings(Settings(embedding_url=serving.url, api_key=SecretStr("k1")))
    assert serving.auth == ["Bearer k1"]


def test_a_server_of_another_model_leaves_the_phrase_lists_and_says_so(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeEmbeddings("f" * 64)
    try:
        with caplog.at_level(logging.WARNING, logger="roleplay.appraisal"):
            appraiser = appraiser_from_settings(Settings(embedding_url=fake.url))
    finally:
        fake.stop()
    assert isinstance(appraiser, LexicalAppraiser) and not fake.embedded
    assert caplog.text.count("phrase lists only") == 1
    assert f"ROLEPLAY_EMBEDDING_URL={fake.url}" in caplog.text
    assert "ffffffffffff" in caplog.text and "retrain" in caplog.text


def test_an_unreachable_server_leaves_the_phrase_lists_and_says_so(
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with caplog.at_level(logging.WARNING, logger="roleplay.appraisal"):
        appraiser = appraiser_from_settings(Settings(embedding_url=url))
    assert isinstance(appraiser, LexicalAppraiser)
    assert "phrase lists only" in caplog.text and "cannot be reached" in caplog.text
    assert appraiser.appraise("Calm down.", "en").appraiser == "lexicon"


def test_model_server_says_a_taken_embedding_port_before_loading_the_model(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as free, socket.socket() as taken:
        free.bind(("127.0.0.1", 0))
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port, embedding_port = free.getsockname()[1], taken.getsockname()[1]
        free.close()
        # A cache dir without the model: had it tried to load one, the error would say so.
        code = cli.main(["model-server", "--port", str(port), "--embedding-port",
                         str(embedding_port)], settings=Settings(cache_dir=tmp_path))
    err = capsys.readouterr().err
    assert code == 1 and f"127.0.0.1:{embedding_port}" in err and "port is taken" in err
    assert "Traceback" not in err


def test_model_server_refuses_one_port_for_both(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    code = cli.main(["model-server", "--port", "8123", "--embedding-port", "8123"],
                    settings=Settings(cache_dir=tmp_path))
    err = capsys.readouterr().err
    assert code != 0 and "--embedding-port 8123" in err and "Traceback" not in err
