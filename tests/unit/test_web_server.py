"""The served app over HTTP (fake engine): login, and the trainer role enforced by the server.

A trainee's browser hides the trainer tab, but hiding is not a permission: these tests call
the trainer endpoints directly, the way a curious trainee with the API docs could.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import httpx
import pytest
from _served import MINIMAL, serve_fake
from gradio_client import Client
from gradio_client.exceptions import AppError

from roleplay.users import User, Users, hash_password
from roleplay.web.app import HANDLERS

NEW = MINIMAL.replace("id: late-parcel", "id: brand-new")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, gr.Blocks]]:
    users = Users([User(name="ann", password=hash_password("ann-pw")),
                   User(name="tess", password=hash_password("tess-pw"), role="trainer")])
    with serve_fake(tmp_path_factory.mktemp("served"),
                    {"late-parcel": MINIMAL, "draft": b"id: draft\x00\n"},
                    users=users, concurrency=3) as app:
        yield app.url, app.personas, app.demo


def test_nothing_is_served_without_login(served: tuple[str, Path, gr.Blocks]) -> None:
    url, _, _ = served
    assert httpx.get(url + "config").status_code == 401
    assert httpx.post(url + "login", data={"username": "ann", "password": "wrong"}
                      ).status_code == 400


def test_a_trainee_cannot_publish_even_through_the_api(
        served: tuple[str, Path, gr.Blocks]) -> None:
    url, personas, _ = served
    client = Client(url, auth=("ann", "ann-pw"), verbose=False)
    with pytest.raises(AppError, match="only trainers"):
        client.predict(NEW, True, api_name="/publish_persona")
    with pytest.raises(AppError, match="only trainers"):
        client.predict(NEW, api_name="/sandbox_start")
    assert not (personas / "brand-new.yaml").exists()


def test_a_trainer_publishes_and_an_invalid_persona_is_refused_with_the_problem(
        served: tuple[str, Path, gr.Blocks]) -> None:
    url, personas, _ = served
    client = Client(url, auth=("tess", "tess-pw"), verbose=False)
    message, problems = client.predict(NEW.replace("start_rung: passive-angry",
                                                   "start_rung: furious"),
                                       False, api_name="/publish_persona")
    assert "Not published" in message and "start_rung" in problems and "passive-angry" in problems
    assert not (personas / "brand-new.yaml").exists()
    message, _ = client.predict(NEW, False, api_name="/publish_persona")
    assert "Published 'brand-new'" in html.unescape(message) and (personas / "brand-new.yaml").is_file()


def test_model_requests_share_one_queue_with_the_configured_limit(
        served: tuple[str, Path, gr.Blocks]) -> None:
    _, _, demo = served
    groups = {fn.name: fn.concurrency_id for fn in demo.fns.values()}
    # Chat turns of trainees and trainers compete for the same model slots...
    assert {groups[n] for n in ("send", "retry", "sandbox_say", "sandbox_start")} == {"model"}
    # ...scoring waits in its own line, and page loads wait for nothing.
    assert groups["end_call"] == "evaluate" and groups["on_load"] != "model"
    limits = {fn.name: fn.concurrency_limit for fn in demo.fns.values()}
    # Gradio lets HANDLERS chat events in at once; the engine's ModelSlots then let
    # settings.concurrency of them ask the model, telling the others their place in line.
    assert limits["send"] == limits["sandbox_say"] == "default"
    assert demo._queue.default_concurrency_limit == HANDLERS
    assert limits["end_call"] == 1 and limits["on_load"] is None


def test_the_trainer_view_names_the_persona_files_that_do_not_load(
        served: tuple[str, Path, gr.Blocks]) -> None:
    url, personas, _ = served
    listed = Client(url, auth=("tess", "tess-pw"), verbose=False).predict(
        api_name="/persona_files")
    assert "draft.yaml" in listed and "NUL byte" in listed and str(personas) not in listed
    with pytest.raises(AppError, match="only trainers"):
        Client(url, auth=("ann", "ann-pw"), verbose=False).predict(api_name="/persona_files")
