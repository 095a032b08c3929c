"""Integration fixtures: one embedded model server for the whole test session.

Starting the server costs a couple of seconds and 2 GB of memory, and two servers on a
2-core machine halve each other's speed, so every integration test shares this one. Tests
that run `roleplay` in a subprocess point it at this server with ROLEPLAY_BASE_URL instead
of letting it start its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from roleplay.config import Settings, get_settings
from roleplay.embedded import embedded_base_url, stop_embedded_server


@pytest.fixture(scope="session")
def embedded_url() -> Iterator[str]:
    """The OpenAI base URL of the embedded model server, started once per test session."""
    settings = get_settings()
    if not settings.embedded:
        pytest.skip("a remote backend is configured (ROLEPLAY_BASE_URL/AZURE_OPENAI_ENDPOINT); "
                    "these tests measure the embedded model")
    yield embedded_base_url(settings)
    stop_embedded_server()


@pytest.fixture(scope="session")
def embedded_settings(embedded_url: str) -> Settings:
    """Settings of the embedded model; models built from them use the shared server."""
    return get_settings()
