"""Prompt templates: text files in `prompts/` with `{placeholder}` fields.

A template is checked against the values it is given, the way llm's `MissingVariables` does:
a placeholder without a value, or a value without a placeholder, is a PromptError naming the
file and the placeholder, raised when the template is loaded rather than half-way through a
call. `<!-- ... -->` comments are notes for the people editing the file and are removed;
literal braces are written `{{` and `}}`.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

from roleplay.errors import PromptError

_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt file, its comments removed, with the placeholders it uses."""

    path: Path
    text: str
    placeholders: frozenset[str]

    def check(self, names: set[str] | frozenset[str]) -> None:
        """Raise PromptError unless `names` are exactly this template's placeholders."""
        # Unknown: a placeholder the code does not fill (a typo, or a field that was renamed).
        unknown = sorted(self.placeholders - set(names))
        # Missing: a value the code fills that the file no longer uses (deleted by mistake).
        missing = sorted(set(names) - self.placeholders)
        if unknown:
            raise PromptError(f"{self.path}: unknown placeholder {{{unknown[0]}}}; the code "
                              f"fills {_listing(names)}: fix the name, or write it as "
                              "{{" + unknown[0] + "}} to keep the braces as text")
        if missing:
            raise PromptError(f"{self.path}: placeholder {{{missing[0]}}} is missing; put "
                              f"{{{missing[0]}}} back where its text belongs")

    def render(self, /, **values: str) -> str:
        """Return the text with every placeholder filled; PromptError if they do not match."""
        self.check(set(values))
        return self.text.format(**values)


def _listing(names: set[str] | frozenset[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names)) or "no placeholders"


def read_prompt(name: str, directory: Path) -> PromptTemplate:
    """Read `directory/name` (".md" added when it has no suffix) and parse its placeholders."""
    path = directory / (name if Path(name).suffix else f"{name}.md")
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"{path}: prompt file not found; restore it from the repository "
                          "or point ROLEPLAY_PROMPTS_DIR at the directory that has it") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PromptError(f"{path}: cannot read the prompt file: {err}; save it as UTF-8") from None
    # Trailing whitespace would end a completion prompt with a space or a newline after the
    # speaker label, and the model would then start its line in the wrong place.
    text = _COMMENT.sub("", raw).strip()
    names: set[str] = set()
    try:
        for _, field, spec, conversion in string.Formatter().parse(text):
            if field is None:
                continue
            if not _NAME.match(field) or spec or conversion:
                raise PromptError(f"{path}: placeholder {{{field}}} is not a plain name; write "
                                  "placeholders as {name} and literal braces as {{ and }}")
            names.add(field)
    except ValueError as err:
        raise PromptError(f"{path}: {err}; write literal braces as {{{{ and }}}}") from None
    return PromptTemplate(path=path, text=text, placeholders=frozenset(names))


def load_prompt(name: str, directory: Path | None = None, /, **values: str) -> str:
    """Return the prompt file `name` from `directory` (default: settings.prompts_dir), filled in.

    `name` and `directory` are positional-only, so a template may use {name} as a placeholder.
    """
    if directory is None:
        from roleplay.config import get_settings

        directory = get_settings().prompts_dir
    return read_prompt(name, directory).render(**values)
