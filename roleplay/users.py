"""Web users and their roles, from the YAML file named by ROLEPLAY_USERS.

The file lists who may log in to the web app and what they may do:

    users:
      - name: ann
        password: correct-horse
        role: trainee
      - name: tess
        password: battery-staple
        role: trainer

With no file, login is off: trainees type a name, and nobody has the trainer role.
Nothing here knows about the web framework; `roleplay.web` asks `Users` who someone is.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from roleplay.errors import ConfigError, Problem
from roleplay.yamlfile import Document, YamlKind, joined

Role = Literal["trainee", "trainer"]

# One line, so that every problem stays one line of `FILE:LINE: FIELD: what; fix`.
_EXAMPLE = "`users: [{name: ann, password: ..., role: trainee}]`"


class User(BaseModel):
    """One person who may log in."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s:]+$")
    """Login name; also the name the trainee's sessions are stored under."""
    password: str = Field(min_length=1)
    """Login password, as typed."""
    role: Role = "trainee"
    """`trainee` practises; `trainer` also sees the trainer view (personas, sandbox, publish)."""


class UsersFile(BaseModel):
    """The whole ROLEPLAY_USERS file."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    users: list[User] = Field(min_length=1)
    """Everyone who may log in, one entry each."""


class Users:
    """The people who may log in, by name."""

    def __init__(self, users: list[User]):
        names = [u.name for u in users]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"user {duplicates[0]!r} is listed twice; give every user one entry")
        self._by_name = {u.name: u for u in users}

    def __len__(self) -> int:
        return len(self._by_name)

    def authenticate(self, name: str, password: str) -> bool:
        """True if `name` exists and `password` is theirs."""
        user = self._by_name.get(name)
        # compare_digest keeps the comparison time independent of where the strings differ.
        expected = user.password if user else ""
        ok = hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8"))
        return user is not None and ok

    def role(self, name: str | None) -> Role | None:
        """The role of `name`, or None if there is no such user (e.g. removed since login)."""
        user = self._by_name.get(name) if name else None
        return user.role if user else None


def _explain(err: ErrorDetails, loc: tuple[str | int, ...]) -> tuple[str, str] | None:
    if err["type"] == "string_pattern_mismatch" and loc[-1:] == ("name",):
        return (f"{err.get('input')!r} contains a space or a colon",
                "write the login name without spaces or colons")
    return None


def _duplicates(parsed: UsersFile, document: Document) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for i, user in enumerate(parsed.users):
        if user.name in first:
            problems.append(document.problem(
                ("users", i, "name"),
                f"{user.name!r} is listed twice (first as users[{first[user.name]}])",
                "give every user one entry"))
        first.setdefault(user.name, i)
    return problems


USERS_FILE: YamlKind[UsersFile] = YamlKind(
    UsersFile, noun="users file", error=joined(ConfigError),
    empty_fix=f"list the users, e.g. {_EXAMPLE}", top_fix=f"start with `users:`, e.g. {_EXAMPLE}",
    hint=f"the file looks like {_EXAMPLE}, with role trainee or trainer",
    missing_fix=f"create it (e.g. {_EXAMPLE}) or unset ROLEPLAY_USERS to turn login off",
    explain=_explain, check=_duplicates)


def load_users(path: Path) -> Users:
    """Read and check a users file; ConfigError names the file, the entry and the fix."""
    return Users(USERS_FILE.read(path).model.users)
