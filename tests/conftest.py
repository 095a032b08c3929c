"""Shared test setup: keep every test offline and away from the user's real data."""

from __future__ import annotations

import os

# Set before anything imports gradio or huggingface_hub: both phone home by default.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
