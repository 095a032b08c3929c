"""How many of a reply's words a spelling dictionary of its language does not know.

The small customer model sometimes writes broken language in Finnish, Hungarian, Latvian or
Norwegian: words that are no words ("Kyivatiedän"), endings glued onto the wrong stems. A
phrase list cannot hear those; a spell checker can, for the part of the gibberish that is
made of non-words (word salad of real words it cannot). `unknown_share` is that signal, one
number per reply; `looks_misspelt` compares it with the threshold of `spelling.yaml`.

    unknown_share("Árak érdek.", "hu")           # 0.0: real words, however odd together
    unknown_share("Kyivatiedän puolesta", "fi")  # 0.5
    unknown_share("anything", "xx")              # None: no dictionary, skip the signal

Dictionaries are Debian's: hunspell for en, hu, lv, no (`hunspell-*` and
`libhunspell-1.7-0`) and Voikko for Finnish (`voikko-fi`, `libvoikko1`, and Voikko's own
Python module `libvoikko` from PyPI). Each is loaded once, on first use, under a lock; a
missing one is said once in the log with the package to install, and its language gets None.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from roleplay.errors import ConfigError
from roleplay.yamlfile import YamlKind, joined

log = logging.getLogger(__name__)

SETTINGS_FILE = Path(__file__).with_name("spelling.yaml")

# Letters only; an apostrophe inside a word keeps "don't" whole (hunspell knows it whole).
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# A hyphenated word ("e-mailt", "CRM-järjestelmä") is checked whole first, then by its parts.
_HYPHENATED = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# What may stand between a sentence end and the first word of the next sentence.
_OPENERS = " \t\r\"'“”‘’«»([-–—*"
_SENTENCE_ENDS = ".!?…:\n"


class LanguageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: Literal["hunspell", "voikko"]
    """Which spell checker reads this language."""
    dictionary: str = Field(min_length=1)
    """hunspell: the file stem in a `hunspell_dirs` folder (`hu_HU`); voikko: the language."""
    packages: str = Field(min_length=1)
    """The Debian packages that install the dictionary and its library, for the warning."""
    threshold: float = Field(gt=0, le=1)
    """A reply whose unknown share is at least this looks like broken language."""
    words: str = ""
    """Everyday words the dictionary lacks (seen in dev replies and persona files), spaces
    between them."""


class SpellingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_letters: int = Field(default=3, ge=1)
    """Shorter words are not checked (abbreviations, interjections, "ok")."""
    min_unknown: int = Field(default=1, ge=1)
    """A reply needs at least this many unknown words to look misspelt."""
    hunspell_dirs: list[str] = Field(min_length=1)
    """Folders searched for `<dictionary>.aff` and `.dic`, in order."""
    languages: dict[str, LanguageSettings]
    """Persona language code -> its dictionary and threshold."""


_SETTINGS: YamlKind[SpellingSettings] = YamlKind(
    SpellingSettings, noun="spelling settings file", error=joined(ConfigError),
    empty_fix="add `hunspell_dirs:` and `languages:` (see roleplay/spelling.yaml)",
    top_fix="start with `min_letters:`, `hunspell_dirs:` and `languages:`",
    hint="see the comment at the top of roleplay/spelling.yaml")


@cache
def load_settings(path: Path = SETTINGS_FILE) -> SpellingSettings:
    """Return the spelling settings; ConfigError names the line of a broken file."""
    return _SETTINGS.read(path).model


class _Checker(Protocol):
    def knows(self, word: str) -> bool: ...


class _Hunspell:
    """hunspell's C library through ctypes.

    Why not a PyPI binding: `hunspell` (0.5.5) and `cyhunspell` compile C++ against
    libhunspell-dev at install and have no wheels for current Pythons; `spylls` is pure
    Python and measured here at 3-12 s to load a dictionary and about 1-1.6 ms a word (hu, lv,
    no), against 0.05-0.5 s and 0.01-0.14 ms through the C library. Three functions are used.
    """

    _lib: ctypes.CDLL | None = None

    def __init__(self, aff: Path, dic: Path):
        lib = self.library()
        self._handle = lib.Hunspell_create(str(aff).encode(), str(dic).encode())
        if not self._handle:
            raise OSError(f"hunspell could not load {dic}")
        self._encoding = (lib.Hunspell_get_dic_encoding(self._handle) or b"UTF-8").decode()
        self._spell = lib.Hunspell_spell
        # One hunspell handle is not safe to share between threads without a lock.
        self._lock = threading.Lock()

    @classmethod
    def library(cls) -> ctypes.CDLL:
        if cls._lib is None:
            name = ctypes.util.find_library("hunspell-1.7") or "libhunspell-1.7.so.0"
            lib = ctypes.CDLL(name)
            lib.Hunspell_create.restype = ctypes.c_void_p
            lib.Hunspell_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
            lib.Hunspell_spell.restype = ctypes.c_int
            lib.Hunspell_spell.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.Hunspell_get_dic_encoding.restype = ctypes.c_char_p
            lib.Hunspell_get_dic_encoding.argtypes = [ctypes.c_void_p]
            cls._lib = lib
        return cls._lib

    def knows(self, word: str) -> bool:
        try:
            raw = word.encode(self._encoding)
        except (UnicodeEncodeError, LookupError):
            return False  # a letter the dictionary's charset lacks: not a word of it
        with self._lock:
            return bool(self._spell(self._handle, raw))


class _Voikko:
    """Voikko's own Python module (`libvoikko` on PyPI, a ctypes wrapper of libvoikko.so.1)."""

    def __init__(self, language: str):
        import libvoikko  # optional at import time: only Finnish needs it

        self._voikko = libvoikko.Voikko(language)
        self._lock = threading.Lock()  # a Voikko handle is not thread-safe

    def knows(self, word: str) -> bool:
        with self._lock:
            return bool(self._voikko.spell(word))


_LOCK = threading.Lock()
_CHECKERS: dict[str, _Checker | None] = {}


def _load(language: str, settings: LanguageSettings, dirs: list[str]) -> _Checker | None:
    try:
        if settings.engine == "voikko":
            return _Voikko(settings.dictionary)
        for folder in map(Path, dirs):
            aff, dic = (folder / f"{settings.dictionary}{ext}" for ext in (".aff", ".dic"))
            if aff.is_file() and dic.is_file():
                return _Hunspell(aff, dic)
        problem = f"no {settings.dictionary}.aff/.dic in {', '.join(dirs)}"
    except ImportError:
        problem = "the Python module libvoikko is missing (pip install libvoikko)"
    except Exception as err:  # noqa: BLE001 - a missing library or dictionary only skips
        problem = f"{type(err).__name__}: {err}"
    log.warning("spelling check off for language %r: %s; install the Debian packages %s "
                "(apt-get install %s)", language, problem, settings.packages, settings.packages)
    return None


def _checker(language: str) -> _Checker | None:
    if language in _CHECKERS:
        return _CHECKERS[language]
    settings = load_settings()
    with _LOCK:
        if language not in _CHECKERS:
            lang = settings.languages.get(language)
            if lang is None:
                log.warning("spelling check off for language %r: no dictionary is configured "
                            "for it in %s", language, SETTINGS_FILE)
            _CHECKERS[language] = (None if lang is None
                                   else _load(language, lang, settings.hunspell_dirs))
        return _CHECKERS[language]


@dataclass(frozen=True)
class Spelling:
    """The words of a reply that were checked, and those the dictionary did not know."""

    checked: int
    unknown: tuple[str, ...]

    @property
    def share(self) -> float:
        """The share of checked words that are unknown; 0.0 when none was checked."""
        return len(self.unknown) / self.checked if self.checked else 0.0


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_ENDS


def _candidates(text: str, min_letters: int) -> list[str]:
    """Return the words worth checking: no short words, acronyms or names."""
    out = []
    for m in _HYPHENATED.finditer(text.replace("’", "'")):
        word = m.group()
        if word[0].isupper() and not _sentence_start(text, m.start()):
            continue  # a capitalised word inside a sentence is a name
        if len(word.replace("-", "")) < min_letters or word.replace("-", "").isupper():
            continue  # short words and acronyms (CRM, DEBUG, ALV) the dictionaries lack
        out.append(word)
    return out


def _knows(checker: _Checker, word: str, known: frozenset[str], min_letters: int) -> bool:
    if word.casefold() in known or checker.knows(word):
        return True
    # A word the dictionary has only capitalised ("i'm", "monday") is typed, not broken.
    if word.islower() and checker.knows(word.capitalize()):
        return True
    parts = word.split("-")
    if len(parts) == 1:
        return False
    return all(len(p) < min_letters or p.isupper() or p.casefold() in known
               or checker.knows(p) for p in parts)


def spelling(text: str, language: str, known: Iterable[str] = ()) -> Spelling | None:
    """Return the checked and unknown words of `text`; None when `language` has no dictionary.

    `known` adds words that count as known (the persona's names, company, products).
    """
    checker = _checker(language)
    if checker is None:
        return None
    settings = load_settings()
    extra = settings.languages[language].words.split()
    known_words = frozenset(w.casefold() for k in (*known, *extra) for w in _WORD.findall(k))
    words = _candidates(text, settings.min_letters)
    # A persona word counts as a known word (checked, not skipped), so a reply that repeats
    # the persona's facts is not diluted to nothing.
    unknown = tuple(w for w in words if not _knows(checker, w, known_words, settings.min_letters))
    return Spelling(len(words), unknown)


def unknown_share(text: str, language: str, known: Iterable[str] = ()) -> float | None:
    """Return the share of words of `text` the dictionary does not know; None if none installed."""
    result = spelling(text, language, known)
    return None if result is None else result.share


def looks_misspelt(text: str, language: str, known: Iterable[str] = ()) -> Spelling | None:
    """Return the spelling of `text` if it passes its language's threshold, else None.

    None also when the language has no dictionary: the caller skips the signal.
    """
    result = spelling(text, language, known)
    if result is None:
        return None
    settings = load_settings()
    threshold = settings.languages[language].threshold
    if len(result.unknown) >= settings.min_unknown and result.share >= threshold:
        return result
    return None


def persona_words(persona: BaseModel) -> frozenset[str]:
    """Return every word of a persona's text fields, to pass as `known` (its names, products)."""
    found: set[str] = set()
    stack: list[object] = [persona.model_dump()]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.update(w.casefold() for w in _WORD.findall(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return frozenset(found)
