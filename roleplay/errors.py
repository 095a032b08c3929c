"""The exceptions the core raises; cli.py and web.py turn them into messages.

RoleplayError
 ├── ConfigError        a setting is missing or wrong
 ├── PersonaError       a persona file is broken (carries one Problem per issue)
 ├── PromptError        a prompt file is missing or its placeholders do not match
 ├── RubricError        the rubric file is broken
 ├── TranscriptError    a transcript given for evaluation is malformed
 ├── StoreError         the transcript store cannot be read or written
 ├── ModelFilesError    the embedded model's pieces are missing or fail the hash
 └── BackendError       the model server is unreachable, timed out, or answered junk
"""

from __future__ import annotations

from dataclasses import dataclass


class RoleplayError(Exception):
    """Base of every error the core raises on purpose; its message is meant for users."""


class ConfigError(RoleplayError):
    pass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where, which field, what, and how to fix it."""

    file: str
    line: int | None
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}; {self.fix}"


class PersonaError(RoleplayError):
    """A persona file is broken; `problems` lists every issue found, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PromptError(RoleplayError):
    pass


class RubricError(RoleplayError):
    pass


class TranscriptError(RoleplayError):
    pass


class StoreError(RoleplayError):
    pass


class ModelFilesError(RoleplayError):
    pass


class BackendError(RoleplayError):
    """The model backend failed; `retryable` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool = True):
        self.retryable = retryable
        super().__init__(message)
