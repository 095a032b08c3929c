"""`roleplay users add/passwd`: the users file holds scrypt hashes, never a typed password."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from roleplay import cli
from roleplay.config import Settings
from roleplay.errors import ConfigError
from roleplay.users import load_users, verify_password


def run(argv: list[str], password: str, monkeypatch: pytest.MonkeyPatch,
        settings: Settings | None = None) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return cli.main(["users", *argv, "--password-stdin"], settings=settings or Settings())


def test_add_and_passwd_write_hashes_that_log_in(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.yaml"
    assert run(["add", "ann", "--file", str(path)], "ann-secret-1", monkeypatch) == 0
    assert run(["add", "tess", "--role", "trainer", "--file", str(path)], "tess-secret",
               monkeypatch) == 0
    text = path.read_text(encoding="utf-8")
    assert "ann-secret-1" not in text and text.count("scrypt$32768$8$1$") == 2
    users = load_users(path)
    assert users.authenticate("ann", "ann-secret-1") and users.role("tess") == "trainer"
    # ROLEPLAY_USERS names the file when --file is not given.
    settings = Settings(users_file=path)
    monkeypatch.setattr("sys.stdin", io.StringIO("ann-secret-2\n"))
    assert cli.main(["users", "passwd", "ann", "--password-stdin"], settings=settings) == 0
    users = load_users(path)
    assert users.authenticate("ann", "ann-secret-2") and not users.authenticate("ann",
                                                                                "ann-secret-1")
    assert path.stat().st_mode & 0o077 == 0


def test_passwd_replaces_a_plain_text_password_the_loader_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n  - name: ann\n    password: correct-horse\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_users(path)
    message = str(err.value)
    assert message.startswith(f"{path}:3: users[0].password: is plain text")
    assert "roleplay users passwd" in message and "correct-horse" not in message
    assert run(["passwd", "ann", "--file", str(path)], "correct-horse-2", monkeypatch) == 0
    assert load_users(path).authenticate("ann", "correct-horse-2")


def test_refusals_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "users.yaml"
    assert run(["add", "ann", "--file", str(path)], "short", monkeypatch) == 1
    assert "at least 8" in capsys.readouterr().err and not path.exists()
    assert run(["add", "ann", "--file", str(path)], "long-enough", monkeypatch) == 0
    assert run(["add", "ann", "--file", str(path)], "long-enough", monkeypatch) == 1
    assert "already a user" in capsys.readouterr().err
    assert run(["passwd", "bob", "--file", str(path)], "long-enough", monkeypatch) == 1
    assert "roleplay users add bob" in capsys.readouterr().err
    assert run(["add", "ann"], "long-enough", monkeypatch) == 1
    assert "ROLEPLAY_USERS" in capsys.readouterr().err


def test_a_hash_is_checked_in_full_and_a_costly_one_is_never_a_match() -> None:
    from roleplay.users import hash_password

    stored = hash_password("pw-12345678", n=2**10)
    assert verify_password(stored, "pw-12345678") and not verify_password(stored, "pw-1234567")
    assert not verify_password(stored.replace("$1024$", "$1048577$"), "pw-12345678")
    assert not verify_password("scrypt$2097152$8$1$AAAA$AAAA", "x")  # over the cost cap
    assert not verify_password("plain", "plain")
