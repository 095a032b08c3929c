"""Loads the phrase lists in `roleplay/lexicons/*.yaml` and finds them in text.

Each file maps a signal kind to regular expressions (case-insensitive, matched on word
boundaries by the pattern itself). Patterns are data so that trainers and translators can
extend a language without touching code.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from roleplay.errors import RoleplayError
from roleplay.signals import Signal, SignalKind

LEXICON_DIR = Path(__file__).parent / "lexicons"


@lru_cache(maxsize=None)
def load_lexicon(language: str) -> dict[SignalKind, list[re.Pattern[str]]]:
    """Return the compiled patterns of one language's lexicon file."""
    path = LEXICON_DIR / f"{language}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return {}
    compiled: dict[SignalKind, list[re.Pattern[str]]] = {}
    for key, patterns in raw.items():
        try:
            kind = SignalKind(key)
        except ValueError:
            raise RoleplayError(f"{path}: unknown signal kind {key!r}") from None
        compiled[kind] = [re.compile(p, re.IGNORECASE) for p in patterns or []]
    return compiled


def languages() -> list[str]:
    """Return the language codes that have a lexicon file."""
    return sorted(p.stem for p in LEXICON_DIR.glob("*.yaml"))


def find_all(text: str, language: str | None = None, customer_name: str | None = None) -> list[Signal]:
    """Return the signals of `text`, one per kind and position, sorted by position."""
    langs = [language] if language and language in languages() else languages()
    if language and language != "en" and "en" in languages() and "en" not in langs:
        # Trainees code-switch; English phrases count in every language.
        langs.append("en")
    found: dict[tuple[SignalKind, int], Signal] = {}
    for lang in langs:
        for kind, patterns in load_lexicon(lang).items():
            for pattern in patterns:
                for m in pattern.finditer(text):
                    if m.end() > m.start():
                        found.setdefault(
                            (kind, m.start()),
                            Signal(kind=kind, quote=m.group(0), start=m.start(), end=m.end()),
                        )
    if customer_name:
        first = customer_name.split()[0]
        for m in re.finditer(rf"\b{re.escape(first)}\b", text):
            found.setdefault(
                (SignalKind.PERSONAL, m.start()),
                Signal(kind=SignalKind.PERSONAL, quote=m.group(0), start=m.start(), end=m.end()),
            )
    return sorted(found.values(), key=lambda s: (s.start, s.kind.value))
