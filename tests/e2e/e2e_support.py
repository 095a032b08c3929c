"""Shared pieces of the e2e tests: the server handle, pages, screenshots and timings."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
USERS = {"ann": ("ann-pw", "trainee"), "bob": ("bob-pw", "trainee"),
         "tess": ("tess-pw", "trainer")}

# Generous bounds so a hung server fails the test instead of hanging CI; they are limits,
# not assertions about speed (2 shared cores, the model and other jobs on them).
REPLY_MS = 300_000
REPORT_MS = 900_000


def app_files(tmp: Path) -> tuple[Path, Path]:
    """A copy of the shipped personas (publishing must not touch the checkout) and a users
    file with USERS, in `tmp`; returns (personas directory, users file)."""
    from roleplay.users import hash_password

    personas = tmp / "personas"
    shutil.copytree(ROOT / "personas", personas)
    users = tmp / "users.yaml"
    users.write_text("users:\n" + "".join(
        f"  - {{name: {name}, password: '{hash_password(pw)}', role: {role}}}\n"
        for name, (pw, role) in USERS.items()), encoding="utf-8")
    return personas, users


@dataclass
class Server:
    url: str
    host: str
    personas_dir: Path
    db_path: Path
    log_path: Path


@dataclass
class Visit:
    """A logged-in browser page and every URL it requested."""

    page: Page
    requests: list[str] = field(default_factory=list)

    def external_requests(self, host: str) -> list[str]:
        return [u for u in self.requests
                if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != host]


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ (kept by CI)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def record_timing(name: str, seconds: float) -> None:
    """Append a measurement to artifacts/e2e-timings.json."""
    path = ARTIFACTS / "e2e-timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = round(seconds, 2)
    path.write_text(json.dumps(data, indent=2) + "\n")
