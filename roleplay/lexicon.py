"""Loads the phrase lists in `roleplay/lexicons/*.yaml` and finds them in text.

Each file maps a signal kind to regular expressions (case-insensitive, matched on word
boundaries by the pattern itself; a pattern can switch case-sensitivity back on locally
with `(?-i:...)`, which the acronym patterns do). Patterns are data so that trainers and
translators can extend a language without touching code.

Besides the trainee signal kinds a file may hold two sections whose keys start with `_`:

- `_customer`: cue kind -> patterns found in *customer* turns (urgency, demands, ...);
- `_grader`: patterns of text addressed to a grader ("score this 5/5", "SYSTEM:").

The common words that tell the languages apart live with the other language tables in
`roleplay.language`; a language with a lexicon needs an entry there too (a test checks it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from roleplay.errors import RoleplayError
from roleplay.moves import Cue, CueKind, Signal, SignalKind
from roleplay.text import sentence_at
from roleplay.yamlfile import joined, load_data

LEXICON_DIR = Path(__file__).parent / "lexicons"


@dataclass(frozen=True)
class _Extras:
    customer: dict[CueKind, list[re.Pattern[str]]] = field(default_factory=dict)
    grader: list[re.Pattern[str]] = field(default_factory=list)


def _compile(path: Path, where: str, patterns: object) -> list[re.Pattern[str]]:
    if patterns is None:
        return []
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise RoleplayError(f"{path}: {where} must be a list of regular expressions (strings)")
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE | re.MULTILINE))
        except re.error as err:
            raise RoleplayError(f"{path}: {where}: bad regular expression {pattern!r}: {err}; "
                                "fix the pattern (remember to double the backslashes in YAML "
                                "double-quoted strings)") from None
    return compiled


@cache
def _read(language: str) -> dict[str, object]:
    path = LEXICON_DIR / f"{language}.yaml"
    if not path.is_file():
        return {}
    raw = load_data(path, joined(RoleplayError)).data or {}
    if not isinstance(raw, dict):
        raise RoleplayError(f"{path}: expected a mapping of signal kinds to pattern lists")
    return raw


@cache
def load_lexicon(language: str) -> dict[SignalKind, list[re.Pattern[str]]]:
    """Return the compiled patterns of one language's lexicon file."""
    path = LEXICON_DIR / f"{language}.yaml"
    compiled: dict[SignalKind, list[re.Pattern[str]]] = {}
    for key, patterns in _read(language).items():
        if str(key).startswith("_"):
            continue
        try:
            kind = SignalKind(key)
        except ValueError:
            raise RoleplayError(f"{path}: unknown signal kind {key!r}; use one of "
                                f"{', '.join(k.value for k in SignalKind)}") from None
        compiled[kind] = _compile(path, str(key), patterns)
    return compiled


@cache
def _load_extras(language: str) -> _Extras:
    path = LEXICON_DIR / f"{language}.yaml"
    raw = _read(language)
    customer: dict[CueKind, list[re.Pattern[str]]] = {}
    section = raw.get("_customer") or {}
    if not isinstance(section, dict):
        raise RoleplayError(f"{path}: _customer must map cue kinds to pattern lists")
    for key, patterns in section.items():
        try:
            kind = CueKind(key)
        except ValueError:
            raise RoleplayError(f"{path}: _customer: unknown cue kind {key!r}; use one of "
                                f"{', '.join(k.value for k in CueKind)}") from None
        customer[kind] = _compile(path, f"_customer.{key}", patterns)
    return _Extras(customer=customer, grader=_compile(path, "_grader", raw.get("_grader")))


def languages() -> list[str]:
    """Return the language codes that have a lexicon file."""
    return sorted(p.stem for p in LEXICON_DIR.glob("*.yaml"))


def _languages_for(language: str | None) -> list[str]:
    available = languages()
    langs = [language] if language and language in available else available
    if language and language != "en" and "en" in available and "en" not in langs:
        # Trainees code-switch; English phrases count in every language.
        langs.append("en")
    return langs


def find_all(text: str, language: str | None = None, customer_name: str | None = None) -> list[Signal]:
    """Return the signals of `text`, one per kind and position, sorted by position."""
    found: dict[tuple[SignalKind, int], Signal] = {}
    for lang in _languages_for(language):
        for kind, patterns in load_lexicon(lang).items():
            for pattern in patterns:
                for m in pattern.finditer(text):
                    if m.end() > m.start():
                        found.setdefault(
                            (kind, m.start()),
                            Signal(kind=kind, quote=m.group(0), start=m.start(), end=m.end()),
                        )
    if customer_name and customer_name.split():
        first = customer_name.split()[0]
        for m in re.finditer(rf"\b{re.escape(first)}\b", text):
            found.setdefault(
                (SignalKind.PERSONAL, m.start()),
                Signal(kind=SignalKind.PERSONAL, quote=m.group(0), start=m.start(), end=m.end()),
            )
    return sorted(found.values(), key=lambda s: (s.start, s.kind.value))


def find_customer_cues(text: str, language: str | None = None) -> list[Cue]:
    """Return the cues of a customer turn; swearing counts as CURSING in every language."""
    found: dict[tuple[CueKind, int], Cue] = {}

    def add(kind: CueKind, m: re.Match[str]) -> None:
        if m.end() > m.start():
            found.setdefault((kind, m.start()),
                             Cue(kind=kind, quote=m.group(0), start=m.start(), end=m.end()))

    # Customers swear in any language whatever the transcript's language is.
    for lang in languages():
        for pattern in load_lexicon(lang).get(SignalKind.PROFANITY, []):
            for m in pattern.finditer(text):
                add(CueKind.CURSING, m)
    for lang in _languages_for(language):
        for kind, patterns in _load_extras(lang).customer.items():
            for pattern in patterns:
                for m in pattern.finditer(text):
                    add(kind, m)
    return sorted(found.values(), key=lambda c: (c.start, c.kind.value))


def find_grader_spans(text: str) -> list[tuple[int, int]]:
    """Return merged (start, end) spans of the sentences that contain grader-directed text.

    Whole sentences, so that a "score this 5/5" hidden mid-turn cannot leave half an
    instruction behind.
    """
    spans: list[tuple[int, int]] = []
    for lang in languages():
        for pattern in _load_extras(lang).grader:
            for m in pattern.finditer(text):
                s, _ = sentence_at(text, m.start())
                _, e = sentence_at(text, max(m.end() - 1, m.start()))
                spans.append((s, e))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged
