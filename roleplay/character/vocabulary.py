"""The words of a customer who has left the call, one YAML file per language beside this module.

Each file (`en.yaml`, `fi.yaml`, ...) holds regular expressions by kind: `ai` (admits to
being an AI), `agent` (the agent's service phrases), `modes` (accepts a mode, a role swap or
an off-task request), `echo` (the prompt's machinery), `narration` (the call described from
outside), `labels` (speaker names that must not be followed by a colon inside a reply), `broken`
(constructions no speaker of the language makes: checked in that language's replies only),
`requests` (an off-task request of the agent's, its subject in the group `topic`: a reply
that takes the subject up has accepted it), `third_person` (the language's third-person
pronouns, for a reply that narrates the customer: `persona_text.py`), and under `rung` the
words the rung check reads (`relief`, `sarcasm`, `anger`). The files are
read once; every check searches the patterns of every language. `foreign.yaml` lists
function words of languages no persona speaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, RootModel

from roleplay.errors import ConfigError
from roleplay.yamlfile import YamlKind, joined

DIRECTORY = Path(__file__).parent

FOREIGN = "foreign.yaml"
"""Function words of languages no persona speaks, beside the per-language files."""

KINDS = ("ai", "agent", "modes", "echo", "narration", "broken")
"""The pattern lists of a vocabulary file, in the order a reply is checked."""

OWN_LANGUAGE_ONLY = frozenset({"broken"})
"""Pattern lists checked only in replies of their own language ("te" is Finnish "you" but
Latvian "here")."""


class RungWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relief: list[str] = Field(default_factory=list)
    sarcasm: list[str] = Field(default_factory=list)
    anger: list[str] = Field(default_factory=list)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ai: list[str] = Field(default_factory=list)
    agent: list[str] = Field(default_factory=list)
    modes: list[str] = Field(default_factory=list)
    echo: list[str] = Field(default_factory=list)
    narration: list[str] = Field(default_factory=list)
    broken: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    requests: list[str] = Field(default_factory=list)
    third_person: list[str] = Field(default_factory=list)
    rung: RungWords = Field(default_factory=RungWords)


@dataclass(frozen=True)
class Vocabulary:
    """Every language's patterns, compiled; `patterns[kind]` lists (language, pattern)."""

    patterns: dict[str, list[tuple[str, re.Pattern[str]]]]
    labels: tuple[str, ...]
    rung: dict[str, dict[str, list[re.Pattern[str]]]]
    """language -> relief/sarcasm/anger -> patterns."""
    names: list[re.Pattern[str]]
    """Self-introductions; group `name` is the name the speaker gives."""
    foreign: dict[str, frozenset[str]]
    """Function words of languages no persona speaks (`foreign.yaml`), by language code."""
    requests: list[re.Pattern[str]]
    """Off-task requests of every language; group `topic` is what the request is about."""
    third_person: dict[str, frozenset[str]]
    """Third-person pronouns by language, lowercase."""

    def rung_words(self, kind: str, language: str) -> list[re.Pattern[str]]:
        """The `kind` patterns of `language` and of English (customers code-switch)."""
        own = self.rung.get(language, {}).get(kind, [])
        return own + (self.rung.get("en", {}).get(kind, []) if language != "en" else [])


def _compile(path: Path, pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as err:
        raise ConfigError(f"{path.name}: the pattern {pattern!r} is not a regular expression "
                          f"({err}); fix it in {path}") from None


def _request(path: Path, pattern: str) -> re.Pattern[str]:
    compiled = _compile(path, pattern)
    if "topic" not in compiled.groupindex:
        raise ConfigError(f"{path.name}: the request pattern {pattern!r} has no group `topic`; "
                          f"name what the request is about with (?P<topic>...) in {path}")
    return compiled


# Read through the project's one YAML loader, so a broken file is named with its line, field
# and fix like every other file (FILE:LINE: FIELD: what; fix).
_VOCABULARY: YamlKind[_File] = YamlKind(
    _File, noun="character vocabulary", error=joined(ConfigError),
    empty_fix="add pattern lists such as `ai:` and `agent:` (see roleplay/character/en.yaml)",
    top_fix="start with pattern lists such as `ai:` and `agent:`",
    hint="see the docstring of roleplay/character/vocabulary.py")


class _Foreign(RootModel[dict[str, str]]):
    """`foreign.yaml`: a language code and its function words, separated by spaces."""


_FOREIGN: YamlKind[_Foreign] = YamlKind(
    _Foreign, noun="foreign-words file", error=joined(ConfigError),
    empty_fix="add a line such as `de: ich bin nicht`",
    top_fix="write one `code: words` line per language",
    hint="see the comment at the top of roleplay/character/foreign.yaml")


@cache
def load_vocabulary(directory: Path = DIRECTORY) -> Vocabulary:
    """Read and compile every `<language>.yaml` of `directory`; ConfigError names a bad file."""
    patterns: dict[str, list[tuple[str, re.Pattern[str]]]] = {kind: [] for kind in KINDS}
    labels: list[str] = []
    rung: dict[str, dict[str, list[re.Pattern[str]]]] = {}
    names: list[re.Pattern[str]] = []
    requests: list[re.Pattern[str]] = []
    third_person: dict[str, frozenset[str]] = {}
    for path in sorted(directory.glob("??.yaml")):
        data = _VOCABULARY.read(path).model
        language = path.stem
        for kind in KINDS:
            patterns[kind] += [(language, _compile(path, p)) for p in getattr(data, kind)]
        labels += data.labels
        names += [_compile(path, p, 0) for p in data.names]
        requests += [_request(path, p) for p in data.requests]
        third_person[language] = frozenset(w.lower() for w in data.third_person)
        rung[language] = {kind: [_compile(path, p) for p in getattr(data.rung, kind)]
                          for kind in ("relief", "sarcasm", "anger")}
    foreign_file = directory / FOREIGN
    raw = _FOREIGN.read(foreign_file).model.root if foreign_file.exists() else {}
    foreign = {lang: frozenset(words.split()) for lang, words in raw.items()}
    return Vocabulary(patterns=patterns, labels=tuple(dict.fromkeys(labels)), rung=rung,
                      names=names, foreign=foreign, requests=requests,
                      third_person=third_person)
