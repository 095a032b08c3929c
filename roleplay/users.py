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

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roleplay.errors import ConfigError

Role = Literal["trainee", "trainer"]

_EXAMPLE = "users:\n  - name: ann\n    password: ...\n    role: trainee"


class User(BaseModel):
    """One person who may log in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s:]+$")
    """Login name; also the name the trainee's sessions are stored under."""
    password: str = Field(min_length=1)
    """Login password, as typed."""
    role: Role = "trainee"
    """`trainee` practises; `trainer` also sees the trainer view (personas, sandbox, publish)."""


class UsersFile(BaseModel):
    """The whole ROLEPLAY_USERS file."""

    model_config = ConfigDict(extra="forbid")

    users: list[User] = Field(min_length=1)


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


def load_users(path: Path) -> Users:
    """Read and check a users file; ConfigError names the file, the entry and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"ROLEPLAY_USERS={path} does not exist; create it (e.g.\n{_EXAMPLE}\n) "
                          "or unset ROLEPLAY_USERS to turn login off") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the users file {path}: {err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    try:
        parsed = UsersFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigError(f"{path}: {where}: {first['msg']}; the file looks like:\n{_EXAMPLE}\n"
                          "with role trainee or trainer") from None
    return Users(parsed.users)
