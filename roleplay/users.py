"""Web users and their roles, from the YAML file named by ROLEPLAY_USERS.

The file lists who may log in to the web app and what they may do:

    users:
      - name: ann
        password: scrypt$32768$8$1$<salt>$<hash>
        role: trainee
      - name: tess
        password: scrypt$32768$8$1$<salt>$<hash>
        role: trainer

Passwords are kept only as salted scrypt hashes (the standard library's `hashlib.scrypt`);
`roleplay users add NAME` and `roleplay users passwd NAME` write them, and a plain-text
password in the file is refused when it is read. With no file, login is off: trainees type a
name, and nobody has the trainer role. Nothing here knows about the web framework;
`roleplay.web` asks `Users` who someone is.
"""

from __future__ import annotations

import base64
import functools
import getpass
import hashlib
import hmac
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from roleplay.errors import ConfigError, Problem
from roleplay.yamlfile import Document, YamlKind, joined

Role = Literal["trainee", "trainer"]

# One line, so that every problem stays one line of `FILE:LINE: FIELD: what; fix`.
_EXAMPLE = "`users: [{name: ann, password: scrypt$..., role: trainee}]`"
_HASH_FIX = ("store its hash instead: run `roleplay users passwd NAME --file FILE`, which asks "
             "for the password and writes its `scrypt$N$r$p$salt$hash` in its place")

# scrypt's cost: 2**15 x 8 takes 32 MB and about 0.1 s per login on one core, which makes
# guessing offline from a stolen file slow and leaves logins quick (OWASP's minimum is 2**17
# x 8 x 1 or its equal; 2**15 x 8 x 3 would be the same cost with less memory).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
"""A hash asking for more than this is refused: a hand-edited file must not stall a login."""
MIN_PASSWORD = 8
HASH_PATTERN = r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$"


def hash_password(password: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """Return `password` as a salted `scrypt$N$r$p$salt$hash` string (salt and hash base64)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p)
    return "$".join(["scrypt", str(n), str(r), str(p), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def verify_password(stored: str, password: str) -> bool:
    """True if `password` hashes to `stored`; the comparison takes the same time wherever
    the two differ, and a malformed or too costly `stored` is never a match."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        cost = int(n), int(r), int(p)
        salt_bytes, expected = base64.b64decode(salt), base64.b64decode(digest)
    except ValueError:
        return False
    if kind != "scrypt" or not _affordable(*cost) or not expected:
        return False
    return hmac.compare_digest(_scrypt(password, salt_bytes, *cost, dklen=len(expected)),
                               expected)


def _affordable(n: int, r: int, p: int) -> bool:
    return 1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= _MAX_R and 0 < p <= _MAX_P


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int = 32) -> bytes:
    # maxmem above scrypt's 128 * n * r bytes, which OpenSSL's default of 32 MB does not allow.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r + 2**20, dklen=dklen)


@functools.cache
def _nobody() -> str:
    # Verified when the name is unknown, so a wrong name takes as long as a wrong password.
    return hash_password(secrets.token_urlsafe(16))


class User(BaseModel):
    """One person who may log in."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s:]+$")
    """Login name; also the name the trainee's sessions are stored under."""
    password: str = Field(pattern=HASH_PATTERN)
    """The password's salted hash, `scrypt$N$r$p$salt$hash` (`roleplay users passwd` writes it)."""
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
        ok = verify_password(user.password if user else _nobody(), password)
        return user is not None and ok

    def role(self, name: str | None) -> Role | None:
        """The role of `name`, or None if there is no such user (e.g. removed since login)."""
        user = self._by_name.get(name) if name else None
        return user.role if user else None

    def names(self, role: Role) -> list[str]:
        """The names of the users with `role`, sorted (a trainer's "everyone")."""
        return sorted(n for n, u in self._by_name.items() if u.role == role)


def _explain(err: ErrorDetails, loc: tuple[str | int, ...]) -> tuple[str, str] | None:
    if err["type"] == "string_pattern_mismatch" and loc[-1:] == ("name",):
        return (f"{err.get('input')!r} contains a space or a colon",
                "write the login name without spaces or colons")
    if err["type"] == "string_pattern_mismatch" and loc[-1:] == ("password",):
        # Never the input itself: it may be somebody's password.
        return "is plain text or not an scrypt hash", _HASH_FIX
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


# --- writing the file (`roleplay users add` and `roleplay users passwd`) ------------------

class _EditedUser(User):
    # Any password string, so that a file with plain-text passwords can be read to fix it.
    password: str = Field(min_length=1)


class _EditedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: list[_EditedUser] = Field(default_factory=list)


_EDITED: YamlKind[_EditedFile] = YamlKind(
    _EditedFile, noun="users file", error=joined(ConfigError),
    empty_fix=f"list the users, e.g. {_EXAMPLE}", top_fix=f"start with `users:`, e.g. {_EXAMPLE}",
    hint=f"the file looks like {_EXAMPLE}, with role trainee or trainer",
    missing_fix="", explain=_explain)


def add_user(path: Path, name: str, role: Role, password: str) -> None:
    """Add `name` with `role` and the hash of `password` to the users file (made if missing)."""
    users = _read_for_edit(path)
    if any(u.name == name for u in users):
        raise ConfigError(f"{path}: {name!r} is already a user; change the password with "
                          f"`roleplay users passwd {name} --file {path}`")
    new = User(name=name, role=role, password=_hashed(password)).model_dump()
    _write(path, [*users, _EditedUser.model_validate(new)])


def set_password(path: Path, name: str, password: str) -> None:
    """Replace `name`'s password in the users file with the hash of `password`."""
    users = _read_for_edit(path)
    if not any(u.name == name for u in users):
        raise ConfigError(f"{path}: no user {name!r}; add one with `roleplay users add {name} "
                          f"--role trainee --file {path}`")
    hashed = _hashed(password)
    _write(path, [u.model_copy(update={"password": hashed}) if u.name == name else u
                  for u in users])


def read_new_password(name: str, from_stdin: bool) -> str:
    """Return a new password: the first line of stdin, or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"new password for {name}: ")
    if getpass.getpass("the same again: ") != password:
        raise ConfigError("the two passwords differ; nothing was changed")
    return password


def _hashed(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password has {len(password)} characters; use at least "
                          f"{MIN_PASSWORD}")
    return hash_password(password)


def _read_for_edit(path: Path) -> list[_EditedUser]:
    return _EDITED.read(path).model.users if path.exists() else []


def _write(path: Path, users: list[_EditedUser]) -> None:
    text = yaml.safe_dump({"users": [u.model_dump() for u in users]}, sort_keys=False,
                          allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed over, so a crash never leaves half a file; only the owner
    # may read it (hashes are still worth guessing at).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
